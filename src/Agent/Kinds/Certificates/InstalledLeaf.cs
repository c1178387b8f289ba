namespace Hawser.Agent.Kinds.Certificates;

/// <summary>The leaf a certificate's first install file holds: its serial and validity.</summary>
public sealed record InstalledLeaf(string Certificate, string Serial, DateTimeOffset NotBefore, DateTimeOffset NotAfter);
