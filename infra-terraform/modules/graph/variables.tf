variable "name_prefix" {
  description = "Prefix of the VPC, cluster and security group names."
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's CIDR block; two private subnets take its halves."
  type        = string
}

variable "capacity" {
  description = "Neptune Serverless capacity range, in NCUs."
  type = object({
    min = number
    max = number
  })
}

variable "engine_version" {
  description = "The Neptune engine version (1.4.x: serverless and openCypher)."
  type        = string
  default     = "1.4.5.0"
}

variable "kms_key_arn" {
  description = "The deployment's KMS key: the cluster's storage and the log groups."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the audit and flow log groups."
  type        = number
}

variable "deletion_protection" {
  description = "Protect the cluster from deletion."
  type        = bool
}
