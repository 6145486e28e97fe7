package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/taskrouter"
)

// Names of the seeded workflows the service is configured with.
const (
	DefaultWorkflowName  = "Assign to Anyone"
	TransferWorkflowName = "Chat Transfer"
)

// Seed is the emulator's starting world, as read from EMULATOR_SEED:
//
//	{"taskrouter": {…see taskrouter.Seed…}, "behaviour": {…see core.Behaviour…}}
//
// Conversations and Sync start with their default services and nothing else.
// Behaviour, when given, replaces core.DefaultBehaviour(); in a seed file the
// fields it leaves out keep their defaults.
type Seed struct {
	TaskRouter taskrouter.Seed `json:"taskrouter"`
	Behaviour  *core.Behaviour `json:"behaviour,omitempty"`
}

// DefaultSeed is the world of DESIGN.md: workspace "Flex Task Assignment",
// queues Everyone, Support and Sales, workers alice, bob and carol, the
// default workflow and "Chat Transfer".
func DefaultSeed() Seed { return Seed{TaskRouter: taskrouter.DefaultSeed()} }

// LoadSeedFile reads a seed file; unknown fields are errors so that a typo
// does not silently fall back to defaults.
func LoadSeedFile(path string) (*Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seed file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	def := core.DefaultBehaviour()
	s := Seed{Behaviour: &def}
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("seed file %s: %w", path, err)
	}
	return &s, nil
}
