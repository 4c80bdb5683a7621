variable "name" {
  type        = string
  description = "The instance's Name tag."
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region."
}

variable "instance_type" {
  type        = string
  default     = "t3.micro"
  description = "EC2 instance type."
}

variable "ami_id" {
  type        = string
  default     = ""
  description = "AMI to boot; empty picks the latest Amazon Linux 2023 (x86_64)."
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet to launch into; empty uses the default VPC's default subnet."
}

variable "associate_public_ip" {
  type        = bool
  default     = false
  description = "Give the instance a public IPv4 address."
}

variable "root_volume_size_gb" {
  type        = number
  default     = 20
  description = "Size of the root volume in GiB."
}

variable "key_name" {
  type        = string
  default     = ""
  description = "Name of an existing EC2 key pair for SSH; empty for none."
}

variable "allowed_ssh_cidrs" {
  type        = list(string)
  default     = []
  description = "Networks allowed to reach port 22; empty makes no security group."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Extra tags for every resource."
}

variable "deployment_id" {
  type        = string
  default     = ""
  description = "Filled in by mcloud: tags every resource with mcloud-deployment = <this id>."
}
