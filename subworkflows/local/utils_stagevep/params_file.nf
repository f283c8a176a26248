// The resolved parameters of a run, kept with its results

import groovy.json.JsonOutput

// pipeline_info/params_<time>.json: the resolved parameters of the run
def writeParams(params, outdir) {
    def dir = file("${outdir}/pipeline_info")
    dir.mkdirs()
    def stamp = new java.util.Date().format('yyyy-MM-dd_HH-mm-ss')
    file("${dir}/params_${stamp}.json").text = JsonOutput.prettyPrint(JsonOutput.toJson(params))
}
