package app

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flexhooks/flexhooks/webhooks"
)

// newGapCounter is flexhooks_record_gaps_total, by capability: the writes
// of interaction records and persistent chat links given up on because
// Twilio failed. They are logged, never returned (a record must not fail
// what it observes), so this counter is what an alert watches.
func newGapCounter(reg prometheus.Registerer) (webhooks.GapFunc, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flexhooks_record_gaps_total",
		Help: "Interaction record writes and automatic persistent chat links given up on because Twilio failed (logged as \"gap\"), by capability.",
	}, []string{"capability"})
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, err
		}
		c = are.ExistingCollector.(*prometheus.CounterVec)
	}
	return func(capability string) { c.WithLabelValues(capability).Inc() }, nil
}
