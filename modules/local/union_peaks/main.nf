process UNION_PEAKS {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(peaks, stageAs: 'peaks*/*')

    output:
    tuple val(meta), path("${prefix}.bed"), emit: bed
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: 'union_peaks'
    """
    union_peaks.py --inputs ${peaks} --output ${prefix}.bed ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    prefix = task.ext.prefix ?: 'union_peaks'
    """
    touch ${prefix}.bed
    software_versions.py --process ${task.process} > versions.yml
    """
}
