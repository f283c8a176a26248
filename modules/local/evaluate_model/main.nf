process EVALUATE_MODEL {
    tag "${meta.id}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint), path(targets)
    tuple path(fasta), path(fai)  // the .fai staged beside the FASTA, so no task re-indexes it

    output:
    tuple val(meta), path('metrics.tsv'), emit: metrics
    path 'metrics.json', emit: json
    path 'window_metrics.tsv', emit: window_metrics
    path 'predictions.h5', emit: predictions
    path 'bigwig/*.pred.bw', emit: bigwigs
    path 'plots/*', emit: plots
    tuple val('evaluate'), path('metrics.tsv'), topic: report
    tuple val('evaluate/plots'), path('plots/*'), topic: report
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    """
    evaluate.py --checkpoint ${checkpoint} --targets ${targets} --fasta ${fasta} --out-dir . ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    // the stub targets file of MAKE_TARGETS lists the tracks, one a line
    """
    mkdir -p bigwig plots
    touch metrics.tsv metrics.json window_metrics.tsv predictions.h5
    for stage in \$(cat ${targets}); do
        touch bigwig/\$stage.pred.bw plots/scatter_\$stage.png plots/scatter_\$stage.pdf
    done
    for kind in window_pearson tracks_best tracks_median tracks_worst; do
        touch plots/\$kind.png plots/\$kind.pdf
    done
    software_versions.py --process ${task.process} > versions.yml
    """
}
