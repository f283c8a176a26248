process COMPARE_GROUPS {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(scores)

    output:
    tuple val(meta), path('group_stats.tsv'), emit: stats
    path 'plots/*', emit: plots
    tuple val('variants'), path('group_stats.tsv'), topic: report
    tuple val('variants/plots'), path('plots/*'), topic: report
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    """
    compare_groups.py --scores ${scores} --out-dir . ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p plots
    touch group_stats.tsv plots/score_by_group.png
    software_versions.py --process ${task.process} > versions.yml
    """
}
