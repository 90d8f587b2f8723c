// The benchmark's peer: Prometheus' own client library (client_golang) serving the very
// series tcpip_exporter serves. It reads one text exposition (a scrape of the test server)
// at start and, like an exporter collecting at scrape time, emits every sample as a const
// metric on each scrape; promhttp encodes it and gzips it when asked, as for any
// client_golang exporter. Usage: peer_client_golang EXPOSITION_FILE LISTEN_ADDRESS
package main

import (
	"fmt"
	"net/http"
	"os"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

type sample struct {
	desc   *prometheus.Desc
	kind   prometheus.ValueType
	value  float64
	labels []string
}

type replay struct{ samples []sample }

func (r *replay) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(r, ch)
}

func (r *replay) Collect(ch chan<- prometheus.Metric) {
	for _, s := range r.samples {
		ch <- prometheus.MustNewConstMetric(s.desc, s.kind, s.value, s.labels...)
	}
}

func value(kind dto.MetricType, m *dto.Metric) (prometheus.ValueType, float64) {
	switch kind {
	case dto.MetricType_COUNTER:
		return prometheus.CounterValue, m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return prometheus.GaugeValue, m.GetGauge().GetValue()
	default:
		return prometheus.UntypedValue, m.GetUntyped().GetValue()
	}
}

func load(path string) (*replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		return nil, err
	}
	r := &replay{}
	for name, family := range families {
		var desc *prometheus.Desc
		for _, m := range family.GetMetric() {
			pairs := m.GetLabel()
			sort.Slice(pairs, func(i, j int) bool { return pairs[i].GetName() < pairs[j].GetName() })
			var names, values []string
			for _, l := range pairs {
				names = append(names, l.GetName())
				values = append(values, l.GetValue())
			}
			if desc == nil { // one description per family, as an exporter declares it
				desc = prometheus.NewDesc(name, family.GetHelp(), names, nil)
			}
			kind, v := value(family.GetType(), m)
			r.samples = append(r.samples, sample{desc, kind, v, values})
		}
	}
	return r, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: peer_client_golang EXPOSITION_FILE LISTEN_ADDRESS")
		os.Exit(2)
	}
	r, err := load(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(r)
	http.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	fmt.Println("ready")
	if err := http.ListenAndServe(os.Args[2], nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
