//! The AWS regions an SNS signing certificate may come from, and the names
//! AWS gives those certificates.
//!
//! The regions are those of the partitions file the AWS SDKs share
//! (`partitions.json` of aws-sdk-go-v2 / `@aws-sdk/util-endpoints`):
//! partition `aws` (dnsSuffix amazonaws.com), `aws-us-gov` (amazonaws.com)
//! and `aws-cn` (amazonaws.com.cn), as of 2025. The isolated partitions
//! (`aws-iso*`, `aws-eusc`) are left out: their SNS cannot reach a public
//! webhook. A region AWS opens later is refused until it is added here;
//! the error names the host, so the refusal is easy to recognise.

/// Partition `aws`: `sns.<region>.amazonaws.com`.
const COMMERCIAL: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// Partition `aws-us-gov`: `sns.<region>.amazonaws.com`.
const GOVCLOUD: &[&str] = &["us-gov-east-1", "us-gov-west-1"];

/// Partition `aws-cn`: `sns.<region>.amazonaws.com.cn`.
const CHINA: &[&str] = &["cn-north-1", "cn-northwest-1"];

/// An SNS endpoint host of a real region: its region and DNS suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SnsHost<'a> {
    pub region: &'a str,
    pub suffix: &'static str,
}

impl<'a> SnsHost<'a> {
    /// `sns.<region>.amazonaws.com` (commercial or GovCloud region) or
    /// `sns.<region>.amazonaws.com.cn` (China region); lower case only, as
    /// a parsed URL's host is.
    pub fn parse(host: &'a str) -> Option<SnsHost<'a>> {
        let rest = host.strip_prefix("sns.")?;
        if let Some(region) = rest.strip_suffix(".amazonaws.com.cn") {
            return CHINA.contains(&region).then_some(SnsHost { region, suffix: "amazonaws.com.cn" });
        }
        let region = rest.strip_suffix(".amazonaws.com")?;
        (COMMERCIAL.contains(&region) || GOVCLOUD.contains(&region))
            .then_some(SnsHost { region, suffix: "amazonaws.com" })
    }

    /// Whether a certificate naming `name` (its subject CN or a DNS
    /// subject alternative name) is an SNS signing certificate for this
    /// host. The names are those the AWS SDK for Java's SnsMessageManager
    /// expects by region: `sns.amazonaws.com` in most regions,
    /// `sns-signing.<region>.amazonaws.com` in the opt-in ones,
    /// `sns-<region>.amazonaws.com.cn` in China and
    /// `sns-us-gov-west-1.amazonaws.com` for both GovCloud regions; plus
    /// `sns.<region>.<suffix>`, the endpoint's own name.
    pub fn certificate_name_ok(&self, name: &str) -> bool {
        let name = name.trim().to_ascii_lowercase();
        let (region, suffix) = (self.region, self.suffix);
        let regional = [
            format!("sns.{region}.{suffix}"),
            format!("sns-signing.{region}.{suffix}"),
            format!("sns-{region}.{suffix}"),
        ];
        (suffix == "amazonaws.com" && name == "sns.amazonaws.com")
            || regional.contains(&name)
            || (GOVCLOUD.contains(&region)
                && GOVCLOUD.iter().any(|g| name == format!("sns-{g}.amazonaws.com")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_regions_only() {
        for ok in [
            "sns.eu-west-1.amazonaws.com",
            "sns.us-gov-west-1.amazonaws.com",
            "sns.cn-north-1.amazonaws.com.cn",
            "sns.mx-central-1.amazonaws.com",
        ] {
            assert!(SnsHost::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "sns.s3.amazonaws.com",
            "sns.xx-fake-1.amazonaws.com",
            "sns.eu-west-1.amazonaws.com.cn",
            "sns.cn-north-1.amazonaws.com",
            "sns.amazonaws.com",
            "sns.eu-west-1.amazonaws.com.evil.org",
            "sns.EU-WEST-1.amazonaws.com",
        ] {
            assert!(SnsHost::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn certificate_names_by_region() {
        let eu = SnsHost::parse("sns.eu-west-1.amazonaws.com").unwrap();
        assert!(eu.certificate_name_ok("sns.amazonaws.com"));
        assert!(eu.certificate_name_ok("SNS.eu-west-1.amazonaws.com"));
        assert!(eu.certificate_name_ok("sns-signing.eu-west-1.amazonaws.com"));
        assert!(!eu.certificate_name_ok("sns.us-east-1.amazonaws.com"));
        assert!(!eu.certificate_name_ok("s3.amazonaws.com"));
        assert!(!eu.certificate_name_ok("*.amazonaws.com"));
        let cn = SnsHost::parse("sns.cn-north-1.amazonaws.com.cn").unwrap();
        assert!(cn.certificate_name_ok("sns-cn-north-1.amazonaws.com.cn"));
        assert!(!cn.certificate_name_ok("sns.amazonaws.com"));
        let gov = SnsHost::parse("sns.us-gov-east-1.amazonaws.com").unwrap();
        assert!(gov.certificate_name_ok("sns-us-gov-west-1.amazonaws.com"));
        assert!(!gov.certificate_name_ok("sns-eu-west-1.amazonaws.com"));
    }
}
