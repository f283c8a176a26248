process PLOT_VARIANTS {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(scores), path(tracks)
    path bigwigs  // averaged <stage>.mean.bw, for the observed-signal row

    output:
    path 'variants/plots/variant_*', emit: plots, optional: true, topic: report
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    def bw_arg = bigwigs ? "--bigwigs ${bigwigs}" : ''
    """
    plot_variants.py --scores ${scores} --tracks ${tracks} --out-dir variants/plots ${bw_arg} ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p variants/plots
    touch variants/plots/variant_stub.png
    software_versions.py --process ${task.process} > versions.yml
    """
}
