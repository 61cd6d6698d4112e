output "endpoint_url" {
  description = "The cluster's openCypher endpoint (MEDIASIFT_NEPTUNE_ENDPOINT)."
  value       = "https://${aws_neptune_cluster.this.endpoint}:${aws_neptune_cluster.this.port}"
}

output "cluster_resource_id" {
  description = "The cluster's resource id, which neptune-db: IAM resources name."
  value       = aws_neptune_cluster.this.cluster_resource_id
}

output "lambda_vpc" {
  description = "Where the graph function runs: the private subnets and its security group."
  value = {
    subnet_ids         = aws_subnet.private[*].id
    security_group_ids = [aws_security_group.function.id]
  }
}
