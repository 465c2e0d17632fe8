{{/* Names and labels. */}}
{{- define "mentionflow.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mentionflow.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mentionflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mentionflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mentionflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "mentionflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: worker
{{- end -}}

{{- define "mentionflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mentionflow.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mentionflow.saslSecretName" -}}
{{- default (printf "%s-sasl" (include "mentionflow.fullname" .)) .Values.sasl.existingSecret -}}
{{- end -}}

{{/* Where the TLS secret is mounted. */}}
{{- define "mentionflow.tlsDir" -}}/etc/mentionflow/tls{{- end -}}

{{/*
The worker's JSON config file: .Values.config (run's options under their
config-file keys) plus what the chart derives from sasl and tls. The metrics
port and host are environment variables (the probes depend on them).
*/}}
{{- define "mentionflow.configJson" -}}
{{- range $k := list "metricsPort" "metricsHost" "saslPassword" -}}
{{- if hasKey $.Values.config $k -}}
{{- fail (printf "config.%s is set by the chart (metrics.port / sasl.password); remove it from config" $k) -}}
{{- end -}}
{{- end -}}
{{- if empty .Values.config.brokers -}}
{{- fail "config.brokers is required: the Kafka bootstrap brokers, e.g. --set 'config.brokers={kafka:9092}'" -}}
{{- end -}}
{{- $c := deepCopy .Values.config -}}
{{- if .Values.sasl.enabled -}}
{{- if empty .Values.sasl.username -}}{{- fail "sasl.enabled needs sasl.username" -}}{{- end -}}
{{- $_ := set $c "saslMechanism" .Values.sasl.mechanism -}}
{{- $_ := set $c "saslUsername" .Values.sasl.username -}}
{{- end -}}
{{- if .Values.tls.enabled -}}
{{- $_ := set $c "ssl" true -}}
{{- $_ := set $c "sslCa" (printf "%s/ca.crt" (include "mentionflow.tlsDir" .)) -}}
{{- if .Values.tls.clientCertificate -}}
{{- $_ := set $c "sslCert" (printf "%s/tls.crt" (include "mentionflow.tlsDir" .)) -}}
{{- $_ := set $c "sslKey" (printf "%s/tls.key" (include "mentionflow.tlsDir" .)) -}}
{{- end -}}
{{- end -}}
{{- toPrettyJson $c -}}
{{- end -}}

{{/*
terminationGracePeriodSeconds: the worker's drain deadline (shutdownTimeoutMs,
default 30000 as in `mentionflow run`), rounded up, plus the 2 s exit timer
after a clean stop, plus terminationGraceExtraSeconds.
*/}}
{{- define "mentionflow.graceSeconds" -}}
{{- $ms := int64 (default 30000 .Values.config.shutdownTimeoutMs) -}}
{{- add (div (add $ms 999) 1000) 2 (int64 .Values.terminationGraceExtraSeconds) -}}
{{- end -}}
