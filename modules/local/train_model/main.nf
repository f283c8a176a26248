process TRAIN_MODEL {
    tag "${meta.id}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(targets)
    path fasta
    val pretrained

    output:
    tuple val(meta), path('train/best.pt'), emit: checkpoint
    path 'train/last.pt', emit: last
    path 'train/metrics.csv', emit: metrics, topic: report
    path 'train/config.json', emit: config
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    train.py --targets ${targets} --fasta ${fasta} --out-dir train --pretrained ${pretrained} ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p train
    touch train/best.pt train/last.pt train/metrics.csv train/config.json
    software_versions.py --process ${task.process} > versions.yml
    """
}
