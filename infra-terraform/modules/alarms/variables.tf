variable "name_prefix" {
  description = "Prefix of the topic and alarm names."
  type        = string
}

variable "kms_key_arn" {
  description = "The deployment's KMS key: the topic's encryption."
  type        = string
}

variable "email" {
  description = "An e-mail address subscribed to the topic; null: none."
  type        = string
  default     = null
}

variable "functions" {
  description = "Lambda function names to watch for errors and throttles, by service."
  type        = map(string)
}

variable "dead_letter_queues" {
  description = "SQS dead-letter queue names to watch, by what they hold."
  type        = map(string)
}
