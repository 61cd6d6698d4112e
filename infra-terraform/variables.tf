variable "name_prefix" {
  description = "Prefix of every resource name (functions, bus, table, queues, buckets). Lower case, 3 to 20 characters: bucket and rule names derive from it."
  type        = string
  default     = "mediasift"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,19}$", var.name_prefix))
    error_message = "name_prefix: 3 to 20 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "region" {
  description = "The AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "tags" {
  description = "Tags added to every resource, besides Project and Deployment."
  type        = map(string)
  default     = {}
}

variable "contracts_dir" {
  description = "The repository's contracts/ folder (rules, schemas, IAM). Null: ../contracts next to this module."
  type        = string
  default     = null
}

variable "lambda_zips" {
  description = "The cargo-lambda package (bootstrap.zip) of each service, by service name: the map `make lambda` prints. A service not listed uses ../target/lambda/mediasift-<service>-lambda/bootstrap.zip."
  type        = map(string)
  default     = {}
}

variable "bedrock_model_id" {
  description = "The Bedrock model or inference profile for image and scene descriptions and audio chapters; \"off\" turns them off."
  type        = string
  default     = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
}

variable "default_analysis_options" {
  description = "The deployment's analysis options (AnalysisOptions keys, see docs/ingest.md), merged over the defaults and under each asset's own: written to settings/options.json in the derived bucket, where ingest reads them."
  type        = any
  default     = {}
}

variable "media_tools_layer_arns" {
  description = "Lambda layers with the arm64 media tools (ffmpeg/ffprobe, mediainfo, exiftool, poppler, tesseract) for ingest, video, audio, image and document."
  type        = list(string)
  default     = []
}

variable "text_model_layer_arn" {
  description = "A Lambda layer holding text-model/model.onnx and text-model/tokenizer.json (MiniLM) for the scene service's taxonomy; null: taxonomy is reported skipped."
  type        = string
  default     = null
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of each service's function: the most invocations at once, which bounds what it asks of Rekognition, Transcribe, Textract, Bedrock and Neptune."
  type        = map(number)
  default = {
    ingest   = 10
    video    = 5
    audio    = 10
    image    = 10
    document = 5
    scene    = 10
    adbreak  = 10
    graph    = 5
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' (and Neptune's and the VPC's) log groups, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 365, ... 3653)."
  }
}

variable "archive_retention_days" {
  description = "How long the bus archive keeps every event, for replay (0: forever)."
  type        = number
  default     = 30
}

variable "deletion_protection" {
  description = "Protects the state table and the Neptune cluster from deletion; set false before tearing down."
  type        = bool
  default     = true
}

variable "graph_enabled" {
  description = "Deploy the knowledge graph: Neptune Serverless in its own VPC, the graph function inside it. Off: the graph function still tracks completion and emits Asset Analysis Completed."
  type        = bool
  default     = false
}

variable "graph_vpc_cidr" {
  description = "The CIDR block of the graph's VPC (two private subnets are carved from it)."
  type        = string
  default     = "10.42.0.0/24"
}

variable "neptune_capacity" {
  description = "Neptune Serverless capacity range, in NCUs."
  type = object({
    min = number
    max = number
  })
  default = { min = 1, max = 8 }
}

variable "alarm_email" {
  description = "An e-mail address subscribed to the alarms topic (it must confirm the subscription); null: none."
  type        = string
  default     = null
}
