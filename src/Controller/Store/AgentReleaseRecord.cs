namespace Hawser.Controller.Store;

/// <summary>One architecture's agent of a published release: what its signed manifest says, and who published it when.</summary>
public sealed record AgentReleaseRecord(string Version, string Architecture, long Size, string Sha256, byte[] Manifest, byte[] Signature,
    string KeyFingerprint, DateTimeOffset PublishedAt, string PublishedBy);
