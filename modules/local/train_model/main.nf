process TRAIN_MODEL {
    tag "${meta.id}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(targets)
    tuple path(fasta), path(fai)  // the .fai staged beside the FASTA, so no task re-indexes it
    val pretrained

    output:
    tuple val(meta), path('train/best.pt'), emit: checkpoint
    path 'train/last.pt', emit: last
    path 'train/metrics.csv', emit: metrics, topic: report
    path 'train/config.json', emit: config
    path 'train/tensorboard', emit: tensorboard
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    // train.py exits 75 on CUDA out of memory; each retry halves the batch and doubles the accumulation
    // (same global batch), then turns on gradient checkpointing (errorStrategy in conf/base.config)
    def memory_retry = task.attempt - 1
    """
    train.py --targets ${targets} --fasta ${fasta} --out-dir train --pretrained ${pretrained} ${args} \
        --memory-retry ${memory_retry}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p train/tensorboard
    touch train/tensorboard/events.out.tfevents.stub
    touch train/best.pt train/last.pt train/metrics.csv train/config.json
    software_versions.py --process ${task.process} > versions.yml
    """
}
