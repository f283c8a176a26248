process MAKE_WINDOWS {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(peaks)
    path fasta

    output:
    tuple val(meta), path("${prefix}.bed"), emit: bed
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: 'windows'
    """
    make_windows.py --peaks ${peaks} --fasta ${fasta} --output ${prefix}.bed ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    prefix = task.ext.prefix ?: 'windows'
    """
    touch ${prefix}.bed
    software_versions.py --process ${task.process} > versions.yml
    """
}
