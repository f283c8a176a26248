process EVALUATE_MODEL {
    tag "${meta.id}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint), path(targets)
    path fasta

    output:
    tuple val(meta), path('evaluate/metrics.tsv'), emit: metrics, topic: report
    path 'evaluate/metrics.json', emit: json
    path 'evaluate/predictions.h5', emit: predictions
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    evaluate.py --checkpoint ${checkpoint} --targets ${targets} --fasta ${fasta} --out-dir evaluate ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p evaluate
    touch evaluate/metrics.tsv evaluate/metrics.json evaluate/predictions.h5
    software_versions.py --process ${task.process} > versions.yml
    """
}
