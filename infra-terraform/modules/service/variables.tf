variable "name_prefix" {
  description = "Prefix of the function, role, queue and rule names."
  type        = string
}

variable "service" {
  description = "The service: ingest, video, audio, image, document, scene, adbreak or graph."
  type        = string
}

variable "rules_file" {
  description = "contracts/rules/<service>.json: the service's EventBridge rules, as its code declares them."
  type        = string
}

variable "permissions_file" {
  description = "contracts/iam/<service>.json: the AWS actions the service's code calls, on symbolic resources."
  type        = string
}

variable "iam_resources" {
  description = "The ARNs each symbolic resource of the permissions file stands for; an empty list drops the statements that need it."
  type        = map(list(string))
}

variable "zip_path" {
  description = "The function's cargo-lambda package (bootstrap.zip)."
  type        = string
}

variable "memory_size" {
  description = "The function's memory, in MB."
  type        = number
}

variable "timeout" {
  description = "The function's timeout, in seconds."
  type        = number
}

variable "tmp_size" {
  description = "The function's /tmp, in MB (512 to 10240)."
  type        = number
}

variable "reserved_concurrency" {
  description = "The function's reserved concurrency."
  type        = number
}

variable "layers" {
  description = "Lambda layer ARNs (tools, models)."
  type        = list(string)
  default     = []
}

variable "environment" {
  description = "The function's environment variables."
  type        = map(string)
}

variable "vpc" {
  description = "Subnets and security groups to run the function in; null: no VPC."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}

variable "event_bus_name" {
  description = "The custom bus the service's rules live on."
  type        = string
}

variable "kms_key_arn" {
  description = "The deployment's KMS key: logs, queue, environment, and the buckets and table the function uses."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
}
