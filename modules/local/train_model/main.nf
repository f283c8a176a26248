// Training with task.ext.nproc processes (--gpus): one runs train.py itself, more run it under
// `torchrun --standalone` (a free rendezvous port on this node), one GPU each. Test hook: with the environment
// variable STAGEVEP_TEST_OOM_ATTEMPTS=<n> the task exits 75 (as train.py does on CUDA out of memory) on
// attempts up to n.
process TRAIN_MODEL {
    tag "${meta.id}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(targets)
    tuple path(fasta), path(fai)  // the .fai staged beside the FASTA, so no task re-indexes it
    val pretrained

    output:
    tuple val(meta), path('best.pt'), emit: checkpoint
    path 'last.pt', emit: last
    path 'metrics.csv', emit: metrics
    path 'config.json', emit: config
    path 'tensorboard', emit: tensorboard
    tuple val('train'), path('metrics.csv'), topic: report
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    def nproc = (task.ext.nproc ?: 1) as int
    // train.py exits 75 on CUDA out of memory; each retry halves the batch and doubles the accumulation
    // (same global batch), then turns on gradient checkpointing (errorStrategy in conf/base.config).
    // torchrun reports a failed process as 1: the process that ran out of memory leaves .out_of_memory
    def memory_retry = task.attempt - 1
    def launch = nproc > 1 ? "torchrun --standalone --nnodes 1 --nproc_per_node ${nproc} \$(command -v train.py)" : 'train.py'
    """
    if [ ${task.attempt} -le "\${STAGEVEP_TEST_OOM_ATTEMPTS:-0}" ]; then
        echo "test hook: out of memory on attempt ${task.attempt}" >&2
        exit 75
    fi
    rm -f .out_of_memory
    ${launch} --targets ${targets} --fasta ${fasta} --out-dir . --pretrained ${pretrained} ${args} \
        --memory-retry ${memory_retry} --oom-marker .out_of_memory || { status=\$?; [ -e .out_of_memory ] && exit 75; exit \$status; }
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p tensorboard
    touch tensorboard/events.out.tfevents.stub
    touch best.pt last.pt metrics.csv config.json
    software_versions.py --process ${task.process} > versions.yml
    """
}
