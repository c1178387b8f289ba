using System.Xml.Linq;
using Hawser.Controller.Pki;
using Hawser.Controller.Store;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Hawser.Controller.Web;

/// <summary>
/// ASP.NET Core's data-protection keys (what protects the sign-in cookie and the antiforgery tokens) in the store, sealed with
/// pki/secrets.key: every controller sharing the store reads the same keys, and the database alone does not reveal them.
/// </summary>
public sealed class StoreKeyRepository(ControllerStore store, SecretBox secrets) : IXmlRepository
{
    /// <inheritdoc/>
    public IReadOnlyCollection<XElement> GetAllElements() =>
        [.. store.WebSessions.ProtectionKeys().Select(k => XElement.Parse(System.Text.Encoding.UTF8.GetString(secrets.Open(k.Sealed))))];

    /// <inheritdoc/>
    public void StoreElement(XElement element, string friendlyName) =>
        store.WebSessions.AddProtectionKey(friendlyName, secrets.Seal(System.Text.Encoding.UTF8.GetBytes(element.ToString(SaveOptions.DisableFormatting))));
}
