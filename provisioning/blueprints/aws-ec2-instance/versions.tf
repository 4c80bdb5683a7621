terraform {
  required_version = ">= 1.0.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      { "managed-by" = "mcloud" },
      var.deployment_id != "" ? { "mcloud-deployment" = var.deployment_id } : {},
      var.tags,
    )
  }
}
