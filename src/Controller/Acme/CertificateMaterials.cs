using System.Collections.Concurrent;
using System.Text;
using Hawser.Controller.Pki;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Acme;

/// <summary>
/// The certificates the controller holds, unsealed in memory, and the ACME account's thumbprint:
/// what goes into each node's desired state beside its spec.
/// </summary>
public sealed class CertificateMaterials
{
    private readonly ConcurrentDictionary<string, (CertificateMaterial Material, string Serial)> _byName = new(StringComparer.Ordinal);

    /// <summary>The ACME account key's thumbprint (empty before there is an account).</summary>
    public string Thumbprint { get; set; } = "";

    /// <summary>
    /// Reads every stored certificate again (another controller may have obtained one) and, when
    /// <paramref name="acme"/> uses the stateless fallback, the account's thumbprint.
    /// </summary>
    public async Task RefreshAsync(ControllerStore store, SecretBox box, Shared.Spec.AcmeSpec? acme, CancellationToken cancellationToken)
    {
        foreach (var record in (await store.Certificates.ListAsync(cancellationToken)).Where(r => r.ChainPem is not null && r.KeySealed is not null))
        {
            if (Get(record.Name) is not { } held || held.Serial != record.Serial)
            {
                Set(record.Name, record.ChainPem!, Encoding.ASCII.GetString(box.Open(record.KeySealed)), record.Serial!);
            }
        }
        // Every account shares one key, so any account's thumbprint is the one the agents answer with.
        if (acme is { StatelessFallback: true } && await store.Certificates.AnyAccountKeyAsync(cancellationToken) is { } sealedKey)
        {
            using var key = Client.AcmeAccountKey.FromPem(Encoding.ASCII.GetString(box.Open(sealedKey)));
            Thumbprint = key.Thumbprint;
        }
    }

    /// <summary>Makes <paramref name="name"/>'s current certificate this one.</summary>
    public void Set(string name, string chainPem, string keyPem, string serial) =>
        _byName[name] = (new CertificateMaterial { CertificateChainPem = chainPem, PrivateKeyPem = keyPem }, serial);

    /// <summary>The material for <paramref name="name"/>, or null when none has been obtained.</summary>
    public (CertificateMaterial Material, string Serial)? Get(string name) => _byName.TryGetValue(name, out var held) ? held : null;
}
