using System.Security.Cryptography.X509Certificates;

namespace Hawser.Shared.Pki;

/// <summary>Who a client certificate says it is.</summary>
public enum IdentityRole
{
    /// <summary>No usable identity.</summary>
    None,

    /// <summary>An agent, by node name.</summary>
    Node,

    /// <summary>An operator (a person or machine using hawserctl or the UI), by operator name; its role is in the controller's store.</summary>
    Operator,
}

/// <summary>A certificate's role and name: the organization says the role, the common name the node or user.</summary>
public sealed record Identity(IdentityRole Role, string Name, string Serial, DateTimeOffset NotBefore = default)
{
    /// <summary>Organization of node certificates.</summary>
    public const string NodeOrganization = "hawser-node";

    /// <summary>Organization of operator certificates (named for the one admin credential there was before operators).</summary>
    public const string OperatorOrganization = "hawser-admin";

    /// <summary>Reads the identity of a certificate the CA issued.</summary>
    public static Identity Of(X509Certificate2 certificate)
    {
        var subject = certificate.SubjectName;
        string? organization = null;
        string? commonName = null;
        foreach (var rdn in subject.EnumerateRelativeDistinguishedNames())
        {
            switch (rdn.GetSingleElementType().Value)
            {
                case "2.5.4.10":
                    organization = rdn.GetSingleElementValue();
                    break;
                case "2.5.4.3":
                    commonName = rdn.GetSingleElementValue();
                    break;
            }
        }
        var role = organization switch
        {
            NodeOrganization => IdentityRole.Node,
            OperatorOrganization => IdentityRole.Operator,
            _ => IdentityRole.None,
        };
        return new Identity(commonName is null ? IdentityRole.None : role, commonName ?? string.Empty, certificate.SerialNumber, certificate.NotBefore.ToUniversalTime());
    }
}
