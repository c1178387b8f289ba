using Hawser.Controller.Sessions;
using Hawser.Controller.Store;

namespace Hawser.Controller.Tests;

/// <summary>The events a node's report of what its servers serve makes: each said once, when it starts.</summary>
[TestClass]
public sealed class ServedEventsTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private static NodeReport Report(string installed, params ServedCertificateReport[] served) =>
        new(3, false, Now, [new ResourceReport("certificate", "www", ResourceOutcome.InSync, "", "", [])], new Dictionary<string, string> { ["www"] = installed }, false)
        {
            Served = served,
        };

    private static ServedCertificateReport Served(string serial, TimeSpan lived, TimeSpan left, bool covers = true) =>
        new("www", "127.0.0.1:443", serial, Now - lived, Now + left, covers, "");

    private static string[] Kinds(IReadOnlyList<EventRecord> events) => [.. events.Select(e => e.Kind)];

    [TestMethod]
    public void A_server_serving_another_serial_than_installed_is_said_once_and_serving_it_again_once()
    {
        var stale = Report("NEW", Served("OLD", TimeSpan.FromDays(10), TimeSpan.FromDays(80)));

        var first = ReportEvents.Of("web2", null, stale, driftCorrected: false);
        var again = ReportEvents.Of("web2", ReportDigest.Of(stale), stale, driftCorrected: false);
        var mended = Report("NEW", Served("NEW", TimeSpan.FromMinutes(1), TimeSpan.FromDays(90)));
        var fixedEvents = ReportEvents.Of("web2", ReportDigest.Of(stale), mended, driftCorrected: false);

        var notServed = first.Single(e => e.Kind == "certificate.not-served");
        Assert.AreEqual("certificate www: 127.0.0.1:443 serves OLD, installed NEW (not reloaded?)", notServed.Summary);
        Assert.AreEqual("web2", notServed.Node);
        CollectionAssert.DoesNotContain(Kinds(again), "certificate.not-served", "the same mismatch is not news");
        Assert.AreEqual("certificate www: 127.0.0.1:443 serves serial NEW", fixedEvents.Single(e => e.Kind == "certificate.served").Summary);
    }

    [TestMethod]
    public void A_served_leaf_in_the_last_sixth_of_its_life_is_a_warning_once_and_a_leaf_for_other_names_is_no_mismatch()
    {
        // 90 days, 10 left: past five sixths. The controller may hold a newer certificate; what is served is what clients get.
        var late = Report("SAME", Served("SAME", TimeSpan.FromDays(80), TimeSpan.FromDays(10)));
        var young = Report("SAME", Served("SAME", TimeSpan.FromDays(60), TimeSpan.FromDays(30)));
        var otherNames = Report("MINE", Served("THEIRS", TimeSpan.FromDays(1), TimeSpan.FromDays(89), covers: false));

        var warned = ReportEvents.Of("web1", ReportDigest.Of(young), late, driftCorrected: false);
        var repeated = ReportEvents.Of("web1", ReportDigest.Of(late), late, driftCorrected: false);

        var warning = warned.Single(e => e.Kind == "certificate.served-expiring");
        StringAssert.StartsWith(warning.Summary, "warning: certificate www: 127.0.0.1:443 serves serial SAME, which ends ");
        StringAssert.EndsWith(warning.Summary, "in the last sixth of its life");
        CollectionAssert.DoesNotContain(Kinds(repeated), "certificate.served-expiring", "said once per serial");
        CollectionAssert.DoesNotContain(Kinds(ReportEvents.Of("web1", null, young, driftCorrected: false)), "certificate.served-expiring");
        CollectionAssert.DoesNotContain(Kinds(ReportEvents.Of("web1", null, otherNames, driftCorrected: false)), "certificate.not-served",
            "another server's certificate on the guessed address is not this one missing a reload");
    }
}
