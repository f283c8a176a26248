process PREFLIGHT {
    tag "${fasta.name}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    path fasta
    path bigwigs, stageAs: 'bigwig*/*'
    path peaks, stageAs: 'peaks*/*'

    output:
    path 'preflight.ok', emit: ok
    path 'versions.yml', emit: versions

    script:
    """
    check_inputs.py --fasta ${fasta} --bigwigs ${bigwigs} --peaks ${peaks}
    touch preflight.ok
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    touch preflight.ok
    software_versions.py --process ${task.process} > versions.yml
    """
}
