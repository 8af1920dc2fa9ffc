// Package specs holds the default flow specs and the object model they share. They are
// embedded in the binary; a spec directory named in the configuration replaces them.
package specs

import "embed"

// FS holds model.yaml, one <flow>.yaml per flow, and the specs' tests.
//
//go:embed *.yaml
var FS embed.FS
