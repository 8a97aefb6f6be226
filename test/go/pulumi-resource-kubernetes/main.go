// Serves the Kubernetes provider plugin (pulumi-resource-kubernetes). The provider's own command
// embeds files its release build generates, which its module does not ship; scripts/test-tools.sh
// copies the provider module's schema.json and terraform-mapping.json beside this file before
// building (they are not kept in this repository).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema.json
var schema []byte

//go:embed terraform-mapping.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
