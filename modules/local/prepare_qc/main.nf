process PREPARE_QC {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(peaks), path(windows), path(targets)
    tuple val(labels), path(bigwigs, stageAs: 'replicate*/*')  // labels: [[stage, replicate], ...] in bigwigs order

    output:
    path 'prepare/qc/*', emit: qc, topic: report
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    def rep_args = [labels, bigwigs instanceof List ? bigwigs : [bigwigs]].transpose()
        .collect { label, bw -> "--replicate ${label[0]} ${label[1]} ${bw}" }.join(' ')
    """
    prepare_qc.py ${rep_args} --peaks ${peaks} --windows ${windows} --targets ${targets} --out-dir prepare/qc ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p prepare/qc
    touch prepare/qc/replicate_concordance.tsv prepare/qc/signal_distribution.tsv prepare/qc/windows_per_split.tsv
    for f in replicate_concordance signal_distribution windows_per_split; do touch prepare/qc/\$f.png prepare/qc/\$f.pdf; done
    software_versions.py --process ${task.process} > versions.yml
    """
}
