{{/*
Names and labels. Every name is a DNS label (63 characters at most).
*/}}

{{/* The chart's name, or nameOverride. */}}
{{- define "rookery.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: <release>-<chart>, or the release name alone when it already contains the chart name, or fullnameOverride. */}}
{{- define "rookery.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The ClusterIP Service of the HTTP port (probes, admin API, metrics). */}}
{{- define "rookery.httpServiceName" -}}
{{- printf "%s-http" (include "rookery.fullname" . | trunc 58 | trimSuffix "-") -}}
{{- end -}}

{{/* chart label: name-version. */}}
{{- define "rookery.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The labels that select this release's pods (never change them on upgrade: Deployment selectors are immutable). */}}
{{- define "rookery.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rookery.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The labels on every object. */}}
{{- define "rookery.labels" -}}
helm.sh/chart: {{ include "rookery.chart" . }}
{{ include "rookery.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rookery
{{- end -}}

{{/* The ServiceAccount the pods run as. */}}
{{- define "rookery.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rookery.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The container image: repository:tag, or repository@digest when a digest is given. */}}
{{- define "rookery.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/*
Graceful shutdown. The kubelet runs the preStop hook, then sends SIGTERM; the node then drains for
at most drain.timeoutSeconds. terminationGracePeriodSeconds counts from the start of the preStop
hook, so it covers all three: preStop delay + drain timeout + margin.
*/}}
{{- define "rookery.terminationGracePeriodSeconds" -}}
{{- add .Values.drain.preStopDelaySeconds .Values.drain.timeoutSeconds .Values.drain.marginSeconds -}}
{{- end -}}

{{/* Percent-encodes a URL component (userinfo): urlquery writes a space as "+", which userinfo would keep literally. */}}
{{- define "rookery.urlEscape" -}}
{{- . | urlquery | replace "+" "%20" -}}
{{- end -}}

{{/* "user:password@", ":password@", "user@" or nothing, from redis.username and the inline redis.password. */}}
{{- define "rookery.redisUserinfo" -}}
{{- $r := .Values.redis -}}
{{- $password := "" -}}
{{- if not $r.existingSecret -}}{{- $password = $r.password -}}{{- end -}}
{{- if $password -}}
{{- printf "%s:%s@" (include "rookery.urlEscape" ($r.username | default "")) (include "rookery.urlEscape" $password) -}}
{{- else if $r.username -}}
{{- printf "%s@" (include "rookery.urlEscape" $r.username) -}}
{{- end -}}
{{- end -}}

{{/*
ROOKERY_REDIS_URL for redis.mode:
  single:   redis.url, with the credentials put in
  sentinel: redis-sentinel://[user:password@]host1:26379,host2:26379/<sentinelMaster>
  cluster:  redis[s]://[user:password@]<first of redis.clusterNodes> (the server discovers the other nodes from it)
*/}}
{{- define "rookery.redisUrl" -}}
{{- $r := .Values.redis -}}
{{- $userinfo := include "rookery.redisUserinfo" . -}}
{{- if eq $r.mode "single" -}}
{{- $url := required "redis.url is required when redis.mode is single" $r.url -}}
{{- if and $userinfo (regexMatch "^[a-z]+://[^/]*@" $url) -}}
{{- fail "redis.url already holds credentials: give them either in the URL or as redis.username/redis.password" -}}
{{- end -}}
{{- regexReplaceAll "^([a-z]+://)" $url (printf "${1}%s" $userinfo) -}}
{{- else if eq $r.mode "sentinel" -}}
{{- if not $r.sentinels -}}{{- fail "redis.sentinels must list at least one host:port when redis.mode is sentinel" -}}{{- end -}}
{{- $master := required "redis.sentinelMaster is required when redis.mode is sentinel" $r.sentinelMaster -}}
{{- printf "redis-sentinel://%s%s/%s" $userinfo (join "," $r.sentinels) $master -}}
{{- else if eq $r.mode "cluster" -}}
{{- if not $r.clusterNodes -}}{{- fail "redis.clusterNodes must list at least one host:port when redis.mode is cluster" -}}{{- end -}}
{{- printf "%s://%s%s" (ternary "rediss" "redis" $r.tls) $userinfo (first $r.clusterNodes) -}}
{{- else -}}
{{- fail (printf "redis.mode must be single, sentinel or cluster, not %q" $r.mode) -}}
{{- end -}}
{{- end -}}

{{/* The Redis URL is read from this Release's Secret unless redis.existingSecretUrlKey names a key of redis.existingSecret. */}}
{{- define "rookery.redisUrlInChartSecret" -}}
{{- if not (and .Values.redis.existingSecret .Values.redis.existingSecretUrlKey) -}}true{{- end -}}
{{- end -}}

{{/* The admin token is read from this Release's Secret unless admin.existingSecret is given. */}}
{{- define "rookery.adminTokenInChartSecret" -}}
{{- if not .Values.admin.existingSecret -}}true{{- end -}}
{{- end -}}
