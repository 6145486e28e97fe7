package flexhooks

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		json    string
		want    Bool
		wantErr bool
	}{
		{"true", `true`, true, false},
		{"false", `false`, false, false},
		{"null", `null`, false, false},
		{"string true", `"true"`, true, false},
		{"string True", `"True"`, true, false},
		{"string 1", `"1"`, true, false},
		{"string false", `"false"`, false, false},
		{"empty string", `""`, false, false},
		{"number", `1`, false, true},
		{"garbage string", `"maybe"`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Bool
			err := json.Unmarshal([]byte(tt.json), &got)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	var b Bool
	require.NoError(t, b.UnmarshalText([]byte("on")))
	assert.True(t, bool(b))
	out, err := json.Marshal(struct{ B Bool }{true})
	require.NoError(t, err)
	assert.JSONEq(t, `{"B":true}`, string(out))
}

func TestJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string // as it appears in a JSON body
		want    string // compact JSON text, "" for none
		wantErr bool
	}{
		{"object", `{"a": 1, "b": [true]}`, `{"a":1,"b":[true]}`, false},
		{"string holding an object", `"{\"a\": 1}"`, `{"a":1}`, false},
		{"null", `null`, "", false},
		{"empty string", `""`, "", false},
		{"string holding garbage", `"{nope"`, "", true},
		{"array", `[1,2]`, `[1,2]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				J JSON `json:"j"`
			}
			err := json.Unmarshal([]byte(`{"j":`+tt.in+`}`), &got)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.J.String())
			assert.Equal(t, tt.want == "", got.J.IsZero())
		})
	}

	var j JSON
	require.NoError(t, j.UnmarshalText([]byte(`{"conversationSid":"CH1","n":12345678901234567890}`)))
	m, err := j.Object()
	require.NoError(t, err)
	assert.Equal(t, "CH1", m["conversationSid"])
	assert.Equal(t, json.Number("12345678901234567890"), m["n"], "large numbers survive")
	out, err := json.Marshal(map[string]JSON{"taskAttributes": j, "none": nil})
	require.NoError(t, err)
	assert.JSONEq(t, `{"taskAttributes":{"conversationSid":"CH1","n":12345678901234567890},"none":null}`, string(out))

	var empty JSON
	m, err = empty.Object()
	require.NoError(t, err)
	assert.NotNil(t, m)
	require.NoError(t, j.UnmarshalText([]byte(`[1]`)))
	_, err = j.Object()
	assert.Error(t, err)
	assert.Error(t, j.UnmarshalText([]byte(`{`)))
}
