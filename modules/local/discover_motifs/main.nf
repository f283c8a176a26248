process DISCOVER_MOTIFS {
    tag "${meta.id}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint)
    tuple path(fasta), path(fai)
    path database, stageAs: 'database/*'  // MEME file, or [] for none

    output:
    path 'motifs.tsv', emit: table
    path 'motifs.meme', emit: meme
    path 'stage_contributions.{png,pdf}', emit: plots
    tuple val('evaluate/motifs'), path('motifs.tsv'), topic: report
    tuple val('evaluate/motifs'), path('stage_contributions.{png,pdf}'), topic: report
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    def db = database ? "--database ${database}" : ''
    """
    discover_motifs.py --checkpoint ${checkpoint} --fasta ${fasta} --out-dir . ${db} ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    touch motifs.tsv motifs.meme stage_contributions.png stage_contributions.pdf
    software_versions.py --process ${task.process} > versions.yml
    """
}
