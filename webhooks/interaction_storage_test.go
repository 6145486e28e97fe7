package webhooks

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestShardOf(t *testing.T) {
	for _, tc := range []struct {
		key, want string
	}{
		{"CH0123456789abcdef0123456789abcdef", "ef"},
		{"WT0123456789ABCDEF0123456789ABCDEF", "ef"},
		{"PF00000000000000000000000000000a07", "07"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			assert.Equal(t, tc.want, shardOf(tc.key, 2))
		})
	}
	t.Run("a key that does not end in hex is hashed, the same every time", func(t *testing.T) {
		got := shardOf("CH1_20261204T101500.000Z", 2)
		assert.Regexp(t, `^[0-9a-f]{2}$`, got)
		assert.Equal(t, got, shardOf("CH1_20261204T101500.000Z", 2))
	})
	t.Run("hashed keys spread over every shard", func(t *testing.T) {
		seen := map[string]bool{}
		for i := range 20000 {
			seen[shardOf(fmt.Sprintf("key-%d.z", i), 2)] = true
		}
		assert.Len(t, seen, IndexShards)
	})
	assert.Equal(t, "flexhooks_interactions_def", RecordMap("CH0123456789abcdef0123456789abcdef"), "records: three digits")
	assert.Len(t, ShardNames(InteractionRecordMap), RecordShards)
	assert.Equal(t, "flexhooks_contacts_0a", ShardNames(ContactMap)[10])
	assert.Equal(t, "flexhooks_profile_interactions_07", ProfileIndexMapOf("PF00000000000000000000000000000a07"))
}
