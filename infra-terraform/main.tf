# mediasift on AWS: eight Lambda functions behind EventBridge rules that come, like the
# services' IAM policies and the registry's schemas, from the generated files in contracts/.

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = "mediasift", Deployment = var.name_prefix }, var.tags)
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  contracts_dir = coalesce(var.contracts_dir, "${path.root}/../contracts")
  account_id    = data.aws_caller_identity.current.account_id
  arn_prefix    = "arn:${data.aws_partition.current.partition}"

  # The environment every function reads (services/kit/src/lambda.rs).
  kit_environment = {
    MEDIASIFT_INGEST_BUCKET  = module.storage.ingest_bucket_name
    MEDIASIFT_DERIVED_BUCKET = module.storage.derived_bucket_name
    MEDIASIFT_STATE_TABLE    = module.state.table_name
    MEDIASIFT_EVENT_BUS      = module.bus.bus_name
  }

  # The MiniLM files inside the text-model layer (layers are unpacked under /opt).
  text_model_environment = var.text_model_layer_arn == null ? {} : {
    MEDIASIFT_TEXT_MODEL     = "/opt/text-model/model.onnx"
    MEDIASIFT_TEXT_TOKENIZER = "/opt/text-model/tokenizer.json"
  }

  # Each service's function: memory (MB), timeout (s), /tmp (MB), layers, and the settings
  # its src/config.rs reads beyond the kit's.
  services = {
    ingest = {
      memory      = 2048
      timeout     = 900
      tmp         = 10240
      layers      = var.media_tools_layer_arns
      environment = { MEDIASIFT_MEDIACONVERT_ROLE_ARN = module.mediaconvert.role_arn }
    }
    video = {
      memory      = 4096
      timeout     = 900
      tmp         = 10240
      layers      = var.media_tools_layer_arns
      environment = { MEDIASIFT_FACE_COLLECTION = module.state.face_collection_id }
    }
    audio = {
      memory      = 3008
      timeout     = 900
      tmp         = 10240
      layers      = var.media_tools_layer_arns
      environment = { MEDIASIFT_CHAPTERS_MODEL_ID = var.bedrock_model_id }
    }
    image = {
      memory  = 2048
      timeout = 300
      tmp     = 2048
      layers  = var.media_tools_layer_arns
      environment = {
        MEDIASIFT_FACE_COLLECTION      = module.state.face_collection_id
        MEDIASIFT_DESCRIPTION_MODEL_ID = var.bedrock_model_id
      }
    }
    document = {
      memory      = 2048
      timeout     = 900
      tmp         = 4096
      layers      = var.media_tools_layer_arns
      environment = {}
    }
    scene = {
      memory      = 2048
      timeout     = 300
      tmp         = 2048
      layers      = compact([var.text_model_layer_arn])
      environment = merge({ MEDIASIFT_DESCRIPTION_MODEL_ID = var.bedrock_model_id }, local.text_model_environment)
    }
    adbreak = {
      memory      = 512
      timeout     = 120
      tmp         = 512
      layers      = []
      environment = {}
    }
    graph = {
      memory      = 512
      timeout     = 120
      tmp         = 512
      layers      = []
      environment = { MEDIASIFT_NEPTUNE_ENDPOINT = coalesce(one(module.graph[*].endpoint_url), "off") }
    }
  }

  # The model behind a cross-region inference profile: its id without the geography prefix.
  bedrock_foundation_model = replace(var.bedrock_model_id, "/^(global|us|us-gov|eu|apac|jp|au|ca)\\./", "")

  # What the resource tokens of contracts/iam/<service>.json stand for in this deployment.
  # A token with no resource here (the graph off) drops the statements that need it.
  iam_resources = {
    "ingest-objects"  = ["${module.storage.ingest_bucket_arn}/*"]
    "derived-objects" = ["${module.storage.derived_bucket_arn}/*"]
    "state-table"     = [module.state.table_arn]
    "event-bus"       = [module.bus.bus_arn]
    "face-collection" = [module.state.face_collection_arn]
    # The one model the deployment configures (none when "off"). An inference profile routes
    # to its model in other regions (a global profile to the region-less ARN), so the model
    # is granted in every region.
    "bedrock-models" = var.bedrock_model_id == "off" ? [] : [
      "${local.arn_prefix}:bedrock:${var.region}:${local.account_id}:inference-profile/${var.bedrock_model_id}",
      "${local.arn_prefix}:bedrock:*::foundation-model/${local.bedrock_foundation_model}",
      "${local.arn_prefix}:bedrock:::foundation-model/${local.bedrock_foundation_model}",
    ]
    "neptune-cluster"   = [for id in module.graph[*].cluster_resource_id : "${local.arn_prefix}:neptune-db:${var.region}:${local.account_id}:${id}/*"]
    "mediaconvert-role" = [module.mediaconvert.role_arn]
    # Ingest submits to the account's Default queue (MEDIASIFT_MEDIACONVERT_QUEUE is unset).
    "mediaconvert" = ["${local.arn_prefix}:mediaconvert:${var.region}:${local.account_id}:queues/Default"]
    # APIs AWS only grants on "*" (tools/terraform/check_security.py lists each).
    "any" = ["*"]
  }
}

module "storage" {
  source = "./modules/storage"

  name_prefix      = var.name_prefix
  kms_key_arn      = aws_kms_key.this.arn
  analysis_options = var.default_analysis_options
}

module "state" {
  source = "./modules/state"

  name_prefix         = var.name_prefix
  kms_key_arn         = aws_kms_key.this.arn
  deletion_protection = var.deletion_protection
}

module "bus" {
  source = "./modules/bus"

  name_prefix            = var.name_prefix
  ingest_bucket_name     = module.storage.ingest_bucket_name
  schemas_dir            = "${local.contracts_dir}/schemas"
  archive_retention_days = var.archive_retention_days
  kms_key_arn            = aws_kms_key.this.arn
}

module "mediaconvert" {
  source = "./modules/mediaconvert"

  name_prefix        = var.name_prefix
  ingest_bucket_arn  = module.storage.ingest_bucket_arn
  derived_bucket_arn = module.storage.derived_bucket_arn
  kms_key_arn        = aws_kms_key.this.arn
}

module "graph" {
  source = "./modules/graph"
  count  = var.graph_enabled ? 1 : 0

  name_prefix         = var.name_prefix
  vpc_cidr            = var.graph_vpc_cidr
  capacity            = var.neptune_capacity
  kms_key_arn         = aws_kms_key.this.arn
  log_retention_days  = var.log_retention_days
  deletion_protection = var.deletion_protection
}

module "services" {
  source   = "./modules/service"
  for_each = local.services

  name_prefix          = var.name_prefix
  service              = each.key
  rules_file           = "${local.contracts_dir}/rules/${each.key}.json"
  permissions_file     = "${local.contracts_dir}/iam/${each.key}.json"
  iam_resources        = local.iam_resources
  zip_path             = lookup(var.lambda_zips, each.key, "${path.root}/../target/lambda/mediasift-${each.key}-lambda/bootstrap.zip")
  memory_size          = each.value.memory
  timeout              = each.value.timeout
  tmp_size             = each.value.tmp
  reserved_concurrency = var.reserved_concurrency[each.key]
  layers               = each.value.layers
  environment          = merge(local.kit_environment, each.value.environment)
  # Only the graph function runs in a VPC (Neptune's), and only when the graph is deployed.
  vpc                = each.key == "graph" ? one(module.graph[*].lambda_vpc) : null
  event_bus_name     = module.bus.bus_name
  kms_key_arn        = aws_kms_key.this.arn
  log_retention_days = var.log_retention_days
}

module "alarms" {
  source = "./modules/alarms"

  name_prefix = var.name_prefix
  kms_key_arn = aws_kms_key.this.arn
  email       = var.alarm_email
  functions   = { for name, service in module.services : name => service.function_name }
  dead_letter_queues = merge(
    { for name, service in module.services : name => service.dlq_name },
    { forwarding = module.bus.forward_dlq_name },
  )
}
