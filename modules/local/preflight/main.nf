process PREFLIGHT {
    tag "${fasta.name}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    path fasta
    path fai  // the user's FASTA index, or [] when there is none (then it is built here)
    path bigwigs, stageAs: 'bigwig*/*'
    path peaks, stageAs: 'peaks*/*'
    path blacklist, stageAs: 'blacklist/*'  // [] when there is none

    output:
    path 'preflight.ok', emit: ok
    path "${fasta.name}.fai", includeInputs: true, emit: fai  // staged with the FASTA into every later task
    path 'versions.yml', emit: versions, topic: versions

    script:
    def bl = blacklist ? "--blacklist ${blacklist}" : ''
    """
    check_inputs.py --fasta ${fasta} --bigwigs ${bigwigs} --peaks ${peaks} ${bl}
    touch preflight.ok
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    [ -e ${fasta.name}.fai ] || touch ${fasta.name}.fai
    touch preflight.ok
    software_versions.py --process ${task.process} > versions.yml
    """
}
