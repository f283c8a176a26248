process AVERAGE_BIGWIGS {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(bigwigs, stageAs: 'replicate*/*')
    tuple path(fasta), path(fai)  // the .fai staged beside the FASTA, so no task re-indexes it

    output:
    tuple val(meta), path("${prefix}.mean.bw"), emit: bigwig
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    average_bigwigs.py --inputs ${bigwigs} --fasta ${fasta} --output ${prefix}.mean.bw ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.mean.bw
    software_versions.py --process ${task.process} > versions.yml
    """
}
