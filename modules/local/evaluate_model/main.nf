process EVALUATE_MODEL {
    tag "${meta.id}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint), path(targets)
    tuple path(fasta), path(fai)  // the .fai staged beside the FASTA, so no task re-indexes it

    output:
    tuple val(meta), path('evaluate/metrics.tsv'), emit: metrics, topic: report
    path 'evaluate/metrics.json', emit: json
    path 'evaluate/window_metrics.tsv', emit: window_metrics
    path 'evaluate/predictions.h5', emit: predictions
    path 'evaluate/bigwig/*.pred.bw', emit: bigwigs
    path 'evaluate/plots/*', emit: plots, topic: report
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    evaluate.py --checkpoint ${checkpoint} --targets ${targets} --fasta ${fasta} --out-dir evaluate ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    def stages = meta.stages ?: ['stage']
    def bigwigs = stages.collect { "evaluate/bigwig/${it}.pred.bw" }.join(' ')
    def scatter = stages.collect { "evaluate/plots/scatter_${it}.png evaluate/plots/scatter_${it}.pdf" }.join(' ')
    """
    mkdir -p evaluate/bigwig evaluate/plots
    touch evaluate/metrics.tsv evaluate/metrics.json evaluate/window_metrics.tsv evaluate/predictions.h5
    touch ${bigwigs} ${scatter}
    for kind in window_pearson tracks_best tracks_median tracks_worst; do
        touch evaluate/plots/\$kind.png evaluate/plots/\$kind.pdf
    done
    software_versions.py --process ${task.process} > versions.yml
    """
}
