process DISCOVER_MOTIFS {
    tag "${meta.id}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint)
    tuple path(fasta), path(fai)
    path database, stageAs: 'database/*'  // MEME file, or [] for none

    output:
    path 'evaluate/motifs/motifs.tsv', emit: table, topic: report
    path 'evaluate/motifs/motifs.meme', emit: meme
    path 'evaluate/motifs/stage_contributions.{png,pdf}', emit: plots, topic: report
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    def db = database ? "--database ${database}" : ''
    """
    discover_motifs.py --checkpoint ${checkpoint} --fasta ${fasta} --out-dir evaluate/motifs ${db} ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p evaluate/motifs
    touch evaluate/motifs/motifs.tsv evaluate/motifs/motifs.meme evaluate/motifs/stage_contributions.png \\
        evaluate/motifs/stage_contributions.pdf
    software_versions.py --process ${task.process} > versions.yml
    """
}
