process PLOT_VARIANTS {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(scores), path(tracks)
    tuple val(stages), path(bigwigs, stageAs: 'bigwigs/*/*')  // observed signal per stage: names, bigWigs

    output:
    path 'variant_*', emit: plots, optional: true
    tuple val('variants/plots'), path('variant_*'), optional: true, topic: report
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    def bw_list = bigwigs instanceof List ? bigwigs : (bigwigs ? [bigwigs] : [])
    def bw_arg = bw_list ? "--bigwigs " + [stages, bw_list].transpose().collect { s, f -> "${s}=${f}" }.join(' ') : ''
    """
    plot_variants.py --scores ${scores} --tracks ${tracks} --out-dir . ${bw_arg} ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    touch variant_stub.png
    software_versions.py --process ${task.process} > versions.yml
    """
}
