// Command k8s-check validates the objects `helm template` renders from
// deploy/helm/mentionflow, strictly: every document is decoded into the Go
// type the API server itself uses for its kind (k8s.io/api, the
// prometheus-operator's monitoring/v1, KEDA's keda/v1alpha1), and a field
// the type does not have, a duplicate field or a value of the wrong type is
// an error (sigs.k8s.io/yaml UnmarshalStrict). Then the references between
// the objects and a few properties of the worker are checked:
//
//   - selectors: the Deployment's selector matches its pod labels; the
//     Service, PodDisruptionBudget and ServiceMonitor select those pods /
//     that Service; the ServiceMonitor's port is a Service port; probes and
//     the Service target a named container port;
//   - the ConfigMap's config.json is a JSON object and the pod mounts it at
//     the path MENTIONFLOW_CONFIG names;
//   - terminationGracePeriodSeconds is above the worker's drain deadline
//     (config.shutdownTimeoutMs, else -shutdown-timeout-ms) plus its exit timer;
//   - liveness and readiness probes GET paths the worker serves (-probe-paths);
//   - the ScaledObject targets the Deployment, its maxReplicaCount equals
//     config.topicPartitions and its kafka trigger reads the worker's group,
//     topic and brokers;
//   - the pod runs as non-root with no privilege escalation.
//
// Usage: helm template ... | k8s-check [-shutdown-timeout-ms 30000]
// [-exit-timer-ms 2000] [-probe-paths /healthz,/readyz] [-report FILE]
// Exit 0 and a JSON report on stdout, or exit 1 listing every problem.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
)

type object struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

type probe struct {
	Kind string `json:"kind"`
	Path string `json:"path"`
	Port int32  `json:"port"`
}

// Report is what the checker saw, for the node test to compare with the worker's code.
type Report struct {
	Objects         []object          `json:"objects"`
	Config          map[string]any    `json:"config"`
	ConfigEnv       map[string]string `json:"configEnv"`
	GraceSeconds    int64             `json:"graceSeconds"`
	Probes          []probe           `json:"probes"`
	MaxReplicaCount *int32            `json:"maxReplicaCount,omitempty"`
	Resources       map[string]string `json:"resources"`
}

type rendered struct {
	deployments     []*appsv1.Deployment
	configMaps      []*corev1.ConfigMap
	secrets         []*corev1.Secret
	services        []*corev1.Service
	serviceAccounts []*corev1.ServiceAccount
	pdbs            []*policyv1.PodDisruptionBudget
	serviceMonitors []*monitoringv1.ServiceMonitor
	scaledObjects   []*kedav1alpha1.ScaledObject
	triggerAuths    []*kedav1alpha1.TriggerAuthentication
}

var problems []string

func fail(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// decode reads one YAML document strictly into the type of its apiVersion/kind.
func decode(doc []byte, r *rendered, report *Report) {
	var head metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &head); err != nil {
		fail("not YAML: %v", err)
		return
	}
	gvk := head.APIVersion + "/" + head.Kind
	var target any
	var add func()
	switch gvk {
	case "apps/v1/Deployment":
		o := &appsv1.Deployment{}
		target, add = o, func() { r.deployments = append(r.deployments, o) }
	case "v1/ConfigMap":
		o := &corev1.ConfigMap{}
		target, add = o, func() { r.configMaps = append(r.configMaps, o) }
	case "v1/Secret":
		o := &corev1.Secret{}
		target, add = o, func() { r.secrets = append(r.secrets, o) }
	case "v1/Service":
		o := &corev1.Service{}
		target, add = o, func() { r.services = append(r.services, o) }
	case "v1/ServiceAccount":
		o := &corev1.ServiceAccount{}
		target, add = o, func() { r.serviceAccounts = append(r.serviceAccounts, o) }
	case "policy/v1/PodDisruptionBudget":
		o := &policyv1.PodDisruptionBudget{}
		target, add = o, func() { r.pdbs = append(r.pdbs, o) }
	case "monitoring.coreos.com/v1/ServiceMonitor":
		o := &monitoringv1.ServiceMonitor{}
		target, add = o, func() { r.serviceMonitors = append(r.serviceMonitors, o) }
	case "keda.sh/v1alpha1/ScaledObject":
		o := &kedav1alpha1.ScaledObject{}
		target, add = o, func() { r.scaledObjects = append(r.scaledObjects, o) }
	case "keda.sh/v1alpha1/TriggerAuthentication":
		o := &kedav1alpha1.TriggerAuthentication{}
		target, add = o, func() { r.triggerAuths = append(r.triggerAuths, o) }
	default:
		fail("%s: no Go type known for this kind (add it to k8s-check)", gvk)
		return
	}
	if err := yaml.UnmarshalStrict(doc, target); err != nil {
		fail("%s: strict decoding: %v", gvk, err)
		return
	}
	add()
	meta := target.(metav1.Object)
	for _, msg := range validation.IsDNS1123Subdomain(meta.GetName()) {
		fail("%s %q: name: %s", head.Kind, meta.GetName(), msg)
	}
	for k, v := range meta.GetLabels() {
		for _, msg := range validation.IsQualifiedName(k) {
			fail("%s %q: label key %q: %s", head.Kind, meta.GetName(), k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			fail("%s %q: label %s=%q: %s", head.Kind, meta.GetName(), k, v, msg)
		}
	}
	report.Objects = append(report.Objects, object{head.Kind, meta.GetName()})
}

func selects(sel *metav1.LabelSelector, lbls map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		fail("bad selector %v: %v", sel, err)
		return false
	}
	return !s.Empty() && s.Matches(labels.Set(lbls))
}

func main() {
	shutdownMs := flag.Int64("shutdown-timeout-ms", 30000, "the worker's default shutdownTimeoutMs (used when config.json does not set it)")
	exitTimerMs := flag.Int64("exit-timer-ms", 2000, "the worker's exit timer after a clean stop")
	probePaths := flag.String("probe-paths", "/healthz,/readyz", "paths the worker's ops server answers")
	flag.Parse()

	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s-check: reading stdin:", err)
		os.Exit(2)
	}
	r := &rendered{}
	report := &Report{Config: map[string]any{}, ConfigEnv: map[string]string{}, Resources: map[string]string{}}
	for _, doc := range docSep.Split(string(input), -1) {
		body := strings.TrimSpace(regexp.MustCompile(`(?m)^#.*$`).ReplaceAllString(doc, ""))
		if body == "" {
			continue
		}
		decode([]byte(doc), r, report)
	}
	check(r, report, *shutdownMs, *exitTimerMs, strings.Split(*probePaths, ","))

	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "k8s-check:", p)
		}
		os.Exit(1)
	}
	out, _ := json.MarshalIndent(report, "", "  ")
	fmt.Println(string(out))
}

func check(r *rendered, report *Report, shutdownMs, exitTimerMs int64, probePaths []string) {
	if len(r.deployments) != 1 {
		fail("want exactly one Deployment, got %d", len(r.deployments))
		return
	}
	d := r.deployments[0]
	pod := d.Spec.Template
	if !selects(d.Spec.Selector, pod.Labels) {
		fail("Deployment %s: selector does not match its pod labels", d.Name)
	}
	if len(pod.Spec.Containers) != 1 {
		fail("Deployment %s: want one container, got %d", d.Name, len(pod.Spec.Containers))
		return
	}
	c := pod.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		for _, msg := range validation.IsValidPortName(p.Name) {
			fail("container port name %q: %s", p.Name, msg)
		}
		ports[p.Name] = p.ContainerPort
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			env[e.Name] = "secret:" + ref.Name + "/" + ref.Key
			found := false
			for _, s := range r.secrets {
				if s.Name == ref.Name {
					_, found = s.Data[ref.Key]
				}
			}
			if !found {
				// an existing Secret the user provides: allowed, but reported
				env[e.Name] += " (not rendered by the chart)"
			}
			continue
		}
		env[e.Name] = e.Value
	}
	report.ConfigEnv = env
	if env["MENTIONFLOW_METRICS_HOST"] != "0.0.0.0" {
		fail("MENTIONFLOW_METRICS_HOST must be 0.0.0.0 for probes and scrapes from outside the pod, got %q", env["MENTIONFLOW_METRICS_HOST"])
	}
	if metricsPort, ok := ports["metrics"]; !ok || env["MENTIONFLOW_METRICS_PORT"] != fmt.Sprint(metricsPort) {
		fail("MENTIONFLOW_METRICS_PORT (%q) must be the container's metrics port (%d)", env["MENTIONFLOW_METRICS_PORT"], metricsPort)
	}
	for name, q := range c.Resources.Requests {
		report.Resources["requests."+string(name)] = q.String()
	}
	for name, q := range c.Resources.Limits {
		report.Resources["limits."+string(name)] = q.String()
	}

	// The config file: a ConfigMap key mounted at the path MENTIONFLOW_CONFIG names.
	configPath := env["MENTIONFLOW_CONFIG"]
	if configPath == "" {
		fail("the container has no MENTIONFLOW_CONFIG")
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if path.Dir(configPath) != path.Clean(m.MountPath) {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			for _, cm := range r.configMaps {
				text, ok := cm.Data[path.Base(configPath)]
				if cm.Name != v.ConfigMap.Name || !ok {
					continue
				}
				mounted = true
				dec := json.NewDecoder(strings.NewReader(text))
				dec.UseNumber()
				if err := dec.Decode(&report.Config); err != nil {
					fail("ConfigMap %s: %s is not a JSON object: %v", cm.Name, path.Base(configPath), err)
				}
			}
		}
	}
	if !mounted {
		fail("MENTIONFLOW_CONFIG %q is not a key of a rendered ConfigMap mounted there", configPath)
	}

	// Grace period above the drain deadline.
	deadline := shutdownMs
	if v, ok := report.Config["shutdownTimeoutMs"].(json.Number); ok {
		deadline, _ = v.Int64()
	}
	if pod.Spec.TerminationGracePeriodSeconds == nil {
		fail("terminationGracePeriodSeconds is not set (default 30 s)")
	} else {
		report.GraceSeconds = *pod.Spec.TerminationGracePeriodSeconds
		if report.GraceSeconds*1000 <= deadline+exitTimerMs {
			fail("terminationGracePeriodSeconds %d is not above the worker's shutdown deadline %d ms + exit timer %d ms", report.GraceSeconds, deadline, exitTimerMs)
		}
	}

	// Probes.
	for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		if p == nil {
			if kind != "startup" {
				fail("no %s probe", kind)
			}
			continue
		}
		if p.HTTPGet == nil {
			fail("%s probe is not an HTTP GET", kind)
			continue
		}
		port := p.HTTPGet.Port.IntVal
		if p.HTTPGet.Port.StrVal != "" {
			var ok bool
			if port, ok = ports[p.HTTPGet.Port.StrVal]; !ok {
				fail("%s probe: port %q is not a container port", kind, p.HTTPGet.Port.StrVal)
			}
		}
		if !slices.Contains(probePaths, p.HTTPGet.Path) {
			fail("%s probe: the worker does not serve %s (it serves %s)", kind, p.HTTPGet.Path, strings.Join(probePaths, ", "))
		}
		report.Probes = append(report.Probes, probe{kind, p.HTTPGet.Path, port})
	}
	slices.SortFunc(report.Probes, func(a, b probe) int { return strings.Compare(a.Kind, b.Kind) })
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path != "/healthz" {
		fail("liveness probe must be /healthz, got %s", c.LivenessProbe.HTTPGet.Path)
	}
	if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		fail("readiness probe must be /readyz, got %s", c.ReadinessProbe.HTTPGet.Path)
	}

	// Non-root.
	psc := pod.Spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		fail("pod securityContext must set runAsNonRoot: true and a non-zero runAsUser")
	}
	if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
		fail("container securityContext must set allowPrivilegeEscalation: false")
	}

	// Service, ServiceMonitor, PDB.
	for _, s := range r.services {
		if !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) || len(s.Spec.Selector) == 0 {
			fail("Service %s does not select the worker pods", s.Name)
		}
		for _, p := range s.Spec.Ports {
			if name := p.TargetPort.StrVal; name != "" {
				if _, ok := ports[name]; !ok {
					fail("Service %s: targetPort %q is not a container port", s.Name, name)
				}
			}
		}
	}
	for _, sm := range r.serviceMonitors {
		var svc *corev1.Service
		for _, s := range r.services {
			if selects(&sm.Spec.Selector, s.Labels) {
				svc = s
			}
		}
		if svc == nil {
			fail("ServiceMonitor %s selects no rendered Service", sm.Name)
			continue
		}
		for _, ep := range sm.Spec.Endpoints {
			found := false
			for _, p := range svc.Spec.Ports {
				found = found || p.Name == ep.Port
			}
			if !found {
				fail("ServiceMonitor %s: endpoint port %q is not a port of Service %s", sm.Name, ep.Port, svc.Name)
			}
			if ep.Path != "" && ep.Path != "/metrics" {
				fail("ServiceMonitor %s: path %s is not /metrics", sm.Name, ep.Path)
			}
		}
	}
	for _, pdb := range r.pdbs {
		if !selects(pdb.Spec.Selector, pod.Labels) {
			fail("PodDisruptionBudget %s does not select the worker pods", pdb.Name)
		}
	}

	// KEDA.
	for _, so := range r.scaledObjects {
		ref := so.Spec.ScaleTargetRef
		if ref == nil || ref.Name != d.Name || (ref.Kind != "" && ref.Kind != "Deployment") {
			fail("ScaledObject %s does not target Deployment %s", so.Name, d.Name)
		}
		if d.Spec.Replicas != nil {
			fail("Deployment %s sets replicas while ScaledObject %s scales it (every upgrade would reset the count)", d.Name, so.Name)
		}
		report.MaxReplicaCount = so.Spec.MaxReplicaCount
		partitions, _ := report.Config["topicPartitions"].(json.Number)
		if so.Spec.MaxReplicaCount == nil || partitions.String() != fmt.Sprint(*so.Spec.MaxReplicaCount) {
			fail("ScaledObject %s: maxReplicaCount must equal config.topicPartitions (%s)", so.Name, partitions)
		}
		if len(so.Spec.Triggers) == 0 {
			fail("ScaledObject %s has no trigger", so.Name)
		}
		for _, t := range so.Spec.Triggers {
			if t.Type != "kafka" {
				fail("ScaledObject %s: trigger %q is not kafka", so.Name, t.Type)
				continue
			}
			for k := range t.Metadata {
				if !slices.Contains(kafkaTriggerParams, k) {
					fail("ScaledObject %s: kafka trigger metadata %q is not a parameter of KEDA's kafka scaler", so.Name, k)
				}
			}
			want := map[string]string{
				"consumerGroup":      str(report.Config["groupId"], "mentionflow"),
				"topic":              str(report.Config["inputTopic"], "posts"),
				"bootstrapServers":   joinList(report.Config["brokers"]),
				"allowIdleConsumers": "false",
			}
			for k, v := range want {
				if t.Metadata[k] != v {
					fail("ScaledObject %s: kafka trigger %s is %q, want %q (from config.json)", so.Name, k, t.Metadata[k], v)
				}
			}
			if t.AuthenticationRef != nil {
				found := false
				for _, ta := range r.triggerAuths {
					found = found || ta.Name == t.AuthenticationRef.Name
				}
				if !found {
					fail("ScaledObject %s: authenticationRef %s is not a rendered TriggerAuthentication", so.Name, t.AuthenticationRef.Name)
				}
			}
		}
	}
}

// The kafka scaler's metadata parameters (KEDA 2.x docs, "Apache Kafka" scaler,
// parameter list and authentication parameters). Trigger metadata is a free
// string map in ScaledObject's Go type, so its keys are checked here.
var kafkaTriggerParams = []string{
	"bootstrapServers", "consumerGroup", "topic", "lagThreshold", "activationLagThreshold",
	"offsetResetPolicy", "allowIdleConsumers", "scaleToZeroOnInvalidOffset", "excludePersistentLag",
	"limitToPartitionsWithLag", "ensureEvenDistributionOfPartitions", "version", "partitionLimitation",
	"sasl", "saslTokenProvider", "tls", "unsafeSsl",
}

func str(v any, def string) string {
	if s, ok := v.(string); ok {
		return s
	}
	return def
}

func joinList(v any) string {
	switch l := v.(type) {
	case string:
		return l
	case []any:
		parts := make([]string, 0, len(l))
		for _, x := range l {
			parts = append(parts, fmt.Sprint(x))
		}
		return strings.Join(parts, ",")
	}
	return ""
}
