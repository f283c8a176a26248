process COMPARE_GROUPS {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(scores)

    output:
    tuple val(meta), path('variants/group_stats.tsv'), emit: stats, topic: report
    path 'variants/plots/*', emit: plots, topic: report
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    compare_groups.py --scores ${scores} --out-dir variants ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p variants/plots
    touch variants/group_stats.tsv variants/plots/score_by_group.png
    software_versions.py --process ${task.process} > versions.yml
    """
}
