process MAKE_WINDOWS {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(peaks)
    tuple path(fasta), path(fai)  // the .fai staged beside the FASTA, so no task re-indexes it
    path blacklist  // [] when there is none

    output:
    tuple val(meta), path("${prefix}.bed"), emit: bed
    tuple val(meta), path("${prefix}_summary.tsv"), emit: summary
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: 'windows'
    def bl = blacklist ? "--blacklist ${blacklist}" : ''
    """
    make_windows.py --peaks ${peaks} --fasta ${fasta} --output ${prefix}.bed --summary ${prefix}_summary.tsv ${bl} ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    prefix = task.ext.prefix ?: 'windows'
    """
    touch ${prefix}.bed ${prefix}_summary.tsv
    software_versions.py --process ${task.process} > versions.yml
    """
}
