{{/* Names and labels. */}}
{{- define "bp.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "bp.name" -}}{{ printf "%s-%s" (include "bp.fullname" .root) .name | trunc 63 | trimSuffix "-" }}{{- end -}}

{{- define "bp.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "bp.labels" -}}
{{ include "bp.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: barcode-pipeline
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "bp.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}{{- end -}}

{{/* The in-chart Kafka's or MinIO's image: .image is {repository, tag}; the tag defaults to appVersion
(`make images` builds them from the same pins as the local stack). */}}
{{- define "bp.imageOf" -}}{{ .image.repository }}:{{ .image.tag | default .root.Chart.AppVersion }}{{- end -}}

{{/* KRaft's cluster id is a base64url-encoded 16-byte UUID: 22 characters whose last one carries
only two bits (so it is one of A, Q, g, w). Derived from the release, so it stays the same across
upgrades and restarts (the data volume remembers it): 21 hex digits, then "A". */}}
{{- define "bp.kafkaClusterId" -}}{{ printf "%s-%s" .Release.Namespace .Release.Name | sha256sum | trunc 21 }}A{{- end -}}

{{/* A component's settings: the shared `default` block overridden key by key by its own. */}}
{{- define "bp.component" -}}
{{- $c := mergeOverwrite (deepCopy .root.Values.default) (deepCopy .component) -}}
{{- toYaml $c -}}
{{- end -}}

{{/* The restricted Pod Security Standard, for every pod of the chart. */}}
{{- define "bp.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .uid | default 10001 }}
fsGroup: {{ .uid | default 10001 }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "bp.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* The controller quorum of an in-chart cluster: node N at pod N's stable name. */}}
{{- define "bp.kafkaVoters" -}}
{{- $voters := list -}}
{{- range $n := until .count -}}{{- $voters = append $voters (printf "%d@%s-%d.%s:9093" $n $.name $n $.nodes) -}}{{- end -}}
{{- join "," $voters -}}
{{- end -}}

{{/* Every node of an in-chart cluster by its own name (a client needs one that answers); the
single node through its Service. */}}
{{- define "bp.kafkaBootstrap" -}}
{{- if and .Values.kafka.enabled (gt (int .Values.kafka.brokers) 1) -}}
{{- $name := printf "%s-kafka" (include "bp.fullname" .) -}}
{{- $nodes := list -}}
{{- range $n := until (int .Values.kafka.brokers) -}}{{- $nodes = append $nodes (printf "%s-%d.%s-nodes:9092" $name $n $name) -}}{{- end -}}
{{- join "," $nodes -}}
{{- else if .Values.kafka.enabled -}}{{ include "bp.fullname" . }}-kafka:9092
{{- else -}}{{ required "kafka.bootstrap is required when kafka.enabled is false" .Values.kafka.bootstrap }}{{- end -}}
{{- end -}}

{{- define "bp.s3Endpoint" -}}
{{- if .Values.s3.endpoint -}}{{ .Values.s3.endpoint }}
{{- else if .Values.minio.enabled -}}http://{{ include "bp.fullname" . }}-minio:9000
{{- else -}}{{ fail "s3.endpoint is required when minio.enabled is false" }}{{- end -}}
{{- end -}}

{{- define "bp.s3Secret" -}}{{ .Values.s3.existingSecret | default (printf "%s-s3" (include "bp.fullname" .)) }}{{- end -}}
{{- define "bp.gatewaySecret" -}}{{ .Values.gateway.existingSecret | default (printf "%s-gateway" (include "bp.fullname" .)) }}{{- end -}}

{{/* Environment every service reads: Kafka, S3, logging, drain. */}}
{{- define "bp.sharedEnv" -}}
- name: BARCODE_KAFKA_BOOTSTRAP
  value: {{ include "bp.kafkaBootstrap" . | quote }}
- name: BARCODE_PARTITIONS
  value: {{ .Values.kafka.partitions | quote }}
- name: BARCODE_REPLY_PARTITIONS
  value: {{ .Values.kafka.replyPartitions | quote }}
- name: BARCODE_REPLICATION_FACTOR
  value: {{ .Values.kafka.replicationFactor | quote }}
- name: BARCODE_MIN_INSYNC_REPLICAS
  value: {{ .Values.kafka.minInsyncReplicas | quote }}
- name: BARCODE_TOPIC_PREFIX
  value: {{ .Values.kafka.topicPrefix | quote }}
- name: BARCODE_S3_ENDPOINT
  value: {{ include "bp.s3Endpoint" . | quote }}
- name: BARCODE_S3_PUBLIC_ENDPOINT
  value: {{ .Values.s3.publicEndpoint | default (include "bp.s3Endpoint" .) | quote }}
- name: BARCODE_S3_REGION
  value: {{ .Values.s3.region | quote }}
- name: BARCODE_S3_BUCKET
  value: {{ .Values.s3.bucket | quote }}
- name: BARCODE_S3_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ include "bp.s3Secret" . }}, key: access-key}}
- name: BARCODE_S3_SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ include "bp.s3Secret" . }}, key: secret-key}}
- name: ROUTER_COMPANIES_FILE
  value: /etc/barcode-pipeline/companies.yaml
- name: GENERATOR_OBJECT_TTL_DAYS
  value: {{ .Values.s3.objectTtlDays | quote }}
{{- with .Values.tracing.otlpEndpoint }}
- name: BARCODE_OTLP_ENDPOINT
  value: {{ . | quote }}
- name: BARCODE_TRACE_SAMPLE
  value: {{ $.Values.tracing.sample | quote }}
{{- end }}
{{- end -}}

{{/* One Deployment for a component: .root (the chart), .name, .c (its merged settings). */}}
{{- define "bp.deployment" -}}
{{- $root := .root -}}
{{- $c := .c -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "bp.name" . }}
  labels:
    {{- include "bp.labels" . | nindent 4 }}
spec:
  {{- if not (and $c.hpa $c.hpa.enabled) }}
  replicas: {{ $c.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "bp.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "bp.labels" . | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/config.yaml") $root | sha256sum }}
        {{- if $root.Values.metrics.scrapeAnnotations }}
        # Prometheus' kubernetes_sd convention: every service serves /metrics on its one port.
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $c.port | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- with $c.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
      securityContext:
        {{- include "bp.podSecurityContext" dict | nindent 8 }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .name }}
          image: {{ include "bp.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: [{{ $c.module | quote }}]
          ports:
            - name: http
              containerPort: {{ $c.port }}
          env:
            {{- include "bp.sharedEnv" $root | nindent 12 }}
            - name: BARCODE_DRAIN_SECONDS
              value: {{ $c.drainSeconds | quote }}
            {{- include "bp.componentEnv" . | nindent 12 }}
            {{- range $k, $v := $c.env }}
            - name: {{ $k }}
              value: {{ $v | quote }}
            {{- end }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            - {name: config, mountPath: /etc/barcode-pipeline, readOnly: true}
          {{- with $c.probes }}
          startupProbe:
            httpGet: {path: {{ .startup }}, port: http}
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet: {path: {{ .liveness }}, port: http}
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: {path: {{ .readiness }}, port: http}
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          {{- end }}
          resources:
            {{- toYaml $c.resources | nindent 12 }}
          securityContext:
            {{- include "bp.containerSecurityContext" . | nindent 12 }}
      volumes:
        - name: tmp
          emptyDir: {sizeLimit: {{ $c.tmpSize | default "256Mi" }}}
        - name: config
          configMap:
            name: {{ include "bp.fullname" $root }}-config
      {{- with $c.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* The Host names a component answers to: loopback (kubectl port-forward), its Service's
names in the cluster (the test hook, other pods), and its `allowedHosts` (an Ingress's name). */}}
{{- define "bp.serviceHosts" -}}
{{- $svc := include "bp.name" . -}}
{{- $ns := .root.Release.Namespace -}}
{{- $names := list "localhost" "127.0.0.1" "::1" $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- join "," (concat $names (.c.allowedHosts | default list)) -}}
{{- end -}}

{{/* A component's own environment, declared in its values: where its HTTP endpoint binds
(`listenEnv`; all interfaces in a pod, since the kubelet probes the pod IP, while the services
default to loopback locally), its pod name, a second drain setting, keys of the gateway Secret. */}}
{{- define "bp.componentEnv" -}}
{{- $c := .c -}}
{{- with $c.listenEnv }}
- name: {{ .host }}
  value: "0.0.0.0"
- name: {{ .port }}
  value: {{ $c.port | quote }}
{{- end }}
{{- with $c.podNameEnv }}
- name: {{ . }}
  valueFrom: {fieldRef: {fieldPath: metadata.name}}
{{- end }}
{{- with $c.drainEnv }}
- name: {{ . }}
  value: {{ $c.drainSeconds | quote }}
{{- end }}
{{- with $c.serviceHostsEnv }}
- name: {{ . }}
  value: {{ include "bp.serviceHosts" $ | quote }}
{{- end }}
{{- range $env, $key := $c.gatewaySecretEnv }}
- name: {{ $env }}
  valueFrom: {secretKeyRef: {name: {{ include "bp.gatewaySecret" $.root }}, key: {{ $key }}}}
{{- end }}
{{- end -}}
