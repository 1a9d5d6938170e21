package msec

// Version is the version of this runtime module, locked to msec-gen's version.
// Go takes module versions from tags: this release is the tag runtimes/go/v0.1.0.
const Version = "0.1.0"
