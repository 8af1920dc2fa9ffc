// Command regiondims is an example tenant transform plugin for the sales-invoices flow:
// it sets each invoice line's Dimension 3 to the customer account's region and writes
// line descriptions in the tenant's own format (package regions). Build it, take its
// checksum and declare it in the configuration; see plugins/README.md.
package main

import (
	"github.com/oimconnect/oimconnect/plugins/examples/regiondims/regions"
	"github.com/oimconnect/oimconnect/plugins/shared"
)

func main() {
	shared.Serve(regions.Transform{})
}
