using Hawser.Agent.Fleet;
using Hawser.Shared.HostAccess;
using Hawser.TestSupport;

namespace Hawser.Agent.Tests;

/// <summary>
/// What the agent keeps of the controller's desired state, and whether it is new: the controller counts what a
/// converge of a new state changes as the controller's change, and anything else as drift put back.
/// </summary>
[TestClass]
public sealed class DesiredStateFileTests
{
    private const string Spec = "apiVersion: hawser/v1\nnodes:\n  web1: {}\n";

    [TestMethod]
    public void A_state_is_new_from_its_arrival_until_converged_and_the_same_state_sent_again_is_not_new()
    {
        using var root = new TempDirectory();
        var file = new DesiredStateFile(new HostPaths(root.Path, Path.Join(root.Path, "proc-sys")));
        var chain = new Dictionary<string, (string, string)> { ["www"] = ("CHAIN-1", "KEY-1") };

        Assert.IsFalse(file.IsNew, "nothing stored yet");
        file.Save(1, Spec, chain, "thumb");
        Assert.IsTrue(file.IsNew);
        Assert.AreEqual((1ul, Spec), file.Load());
        file.SaveApplied(1, file.NewMark);
        Assert.IsFalse(file.IsNew);
        Assert.AreEqual(1ul, file.Applied);

        file.Save(1, Spec, chain, "thumb");
        Assert.IsFalse(file.IsNew, "a reconnect sends the same state again; it is not new");
        // Renewed certificate material under the same revision, a removed certificate, a new thumbprint, a new revision:
        // each is new until converged.
        foreach (var (revision, certificates, thumbprint) in new (ulong, Dictionary<string, (string, string)>, string)[]
        {
            (1, new() { ["www"] = ("CHAIN-2", "KEY-2") }, "thumb"),
            (1, [], "thumb"),
            (1, [], "other"),
            (2, [], "other"),
        })
        {
            file.Save(revision, Spec, certificates, thumbprint);
            Assert.IsTrue(file.IsNew, $"revision {revision}, {certificates.Count} certificate(s), thumbprint {thumbprint}");
            file.SaveApplied(revision, file.NewMark);
            Assert.IsFalse(file.IsNew);
        }
        Assert.AreEqual(2ul, file.Applied);
        Assert.IsFalse(Directory.Exists(Path.Join(root.Path, "var/lib/hawser/certificates/www")), "a certificate no longer sent is removed");

        // A renewal's material arriving while a converge of the same revision and spec runs stays new after that converge:
        // its own converge installs it, and that is the controller's change, not drift.
        var before = file.NewMark;
        Assert.IsNull(before);
        file.Save(2, Spec, new Dictionary<string, (string, string)> { ["www"] = ("CHAIN-3", "KEY-3") }, "other");
        file.SaveApplied(2, before);
        Assert.IsTrue(file.IsNew, "material that came during a converge is still new");
        var renewal = file.NewMark;
        file.Save(2, Spec, new Dictionary<string, (string, string)> { ["www"] = ("CHAIN-4", "KEY-4") }, "other");
        file.SaveApplied(2, renewal);
        Assert.IsTrue(file.IsNew, "a second renewal during the converge of the first stays new");
        file.SaveApplied(2, file.NewMark);
        Assert.IsFalse(file.IsNew);

        // A new state survives a restart as new: the mark is on disk.
        file.Save(3, Spec + "# changed\n", null, "other");
        Assert.IsTrue(new DesiredStateFile(new HostPaths(root.Path, Path.Join(root.Path, "proc-sys"))).IsNew);
    }
}
