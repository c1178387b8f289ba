using Google.Protobuf;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Tests;

/// <summary>The bounds on what a node says about itself, and on one event, before anything is stored.</summary>
[TestClass]
public sealed class NodeInputBoundsTests
{
    [TestMethod]
    public void Each_field_is_cut_with_a_marker_naming_what_was_sent_and_the_report_stays_under_its_bound()
    {
        var report = new StatusReport { Revision = 7, DesiredStateNew = true };
        for (var i = 0; i < 3000; i++)
        {
            report.Resources.Add(new ResourceStatus
            {
                Kind = new string('k', 100), Name = $"r{i}" + new string('n', 1000), State = ResourceState.Failed,
                Error = new string('e', 100_000), Diff = new string('d', 5000), Warnings = { Enumerable.Repeat(new string('w', 2000), 20) },
            });
        }
        for (var i = 0; i < 1000; i++)
        {
            report.InstalledCertificates[$"c{i}" + new string('c', 500)] = new string('s', 500);
        }

        var bounded = NodeInputBounds.Bound(report);

        Assert.IsLessThanOrEqualTo(NodeInputBounds.MaxReportBytes + 1024, bounded.CalculateSize());
        Assert.AreEqual(7UL, bounded.Revision);
        Assert.IsTrue(bounded.DesiredStateNew);
        var first = bounded.Resources[0];
        StringAssert.StartsWith(first.Error, new string('e', NodeInputBounds.MaxTextChars - 64));
        StringAssert.EndsWith(first.Error, "… [cut by the controller: 100,000 characters sent]");
        Assert.HasCount(NodeInputBounds.MaxTextChars, first.Error);
        Assert.AreEqual(bounded, NodeInputBounds.Bound(bounded), "bounding a bounded report changes nothing");
        Assert.AreEqual(NodeInputBounds.MaxWarnings, first.Warnings.Count);
        Assert.AreEqual("13 more warning(s) cut by the controller", first.Warnings[^1]);
        Assert.IsLessThanOrEqualTo(NodeInputBounds.MaxCertificates, bounded.InstalledCertificates.Count);
        // The operator sees that resources were dropped, as a failure of the report itself.
        var last = bounded.Resources[^1];
        Assert.AreEqual("report", last.Kind);
        Assert.AreEqual(ResourceState.Failed, last.State);
        StringAssert.Contains(last.Error, "the node reported 3,000 resources");
    }

    [TestMethod]
    public void Served_certificates_are_counted_cut_and_a_time_that_is_no_time_is_dropped_so_reading_it_never_throws()
    {
        var report = new StatusReport { Revision = 4, FinishedAt = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = long.MaxValue } };
        for (var i = 0; i < 1000; i++)
        {
            report.ServedCertificates.Add(new ServedCertificate
            {
                Certificate = $"c{i}" + new string('c', 500), Target = new string('t', 5000), Serial = new string('s', 500), Error = new string('e', 100_000),
                NotBefore = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = -1, Nanos = -5 },
                NotAfter = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)),
            });
        }

        var bounded = NodeInputBounds.Bound(report);

        Assert.IsLessThanOrEqualTo(NodeInputBounds.MaxServed, bounded.ServedCertificates.Count);
        var first = bounded.ServedCertificates[0];
        Assert.IsLessThanOrEqualTo(NodeInputBounds.MaxTargetChars, first.Target.Length);
        Assert.IsLessThanOrEqualTo(NodeInputBounds.MaxWarningChars, first.Error.Length);
        Assert.IsNull(first.NotBefore, "negative nanos are no time");
        Assert.IsNull(bounded.FinishedAt, "a second count past year 9999 is no time");
        var kept = Hawser.Controller.Api.ReportWire.Report(bounded);
        Assert.AreEqual(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), kept.Served[0].NotAfter);
        Assert.IsLessThanOrEqualTo(NodeInputBounds.MaxReportBytes + 1024, bounded.CalculateSize());
    }

    [TestMethod]
    public void A_report_within_the_bounds_is_kept_whole()
    {
        var report = new StatusReport { Revision = 3 };
        report.Resources.Add(new ResourceStatus { Kind = "sysctl", Name = "net.core.default_qdisc", State = ResourceState.Changed, Diff = "pfifo_fast -> fq", Warnings = { "w" } });
        report.InstalledCertificates["www"] = "0a1b";

        Assert.AreEqual(report, NodeInputBounds.Bound(report));
    }

    [TestMethod]
    public void Cutting_never_splits_a_surrogate_pair()
    {
        var text = new string('a', 53) + "🚀";
        var cut = NodeInputBounds.Cut(text + new string('b', 100), 100);

        Assert.IsFalse(char.IsHighSurrogate(cut[cut.IndexOf('…', StringComparison.Ordinal) - 1]));
    }

    [TestMethod]
    public void An_event_is_bounded_in_its_summary_its_lines_and_their_count()
    {
        var record = new EventRecord
        {
            Kind = "node.failed", Actor = "node:x", Summary = new string('s', 10_000),
            Details = [.. Enumerable.Repeat(new string('d', 10_000), 100)],
        };

        var bounded = EventBounds.Bound(record);

        Assert.IsLessThanOrEqualTo(EventBounds.MaxSummaryChars, bounded.Summary.Length);
        Assert.AreEqual(EventBounds.MaxDetails, bounded.Details.Count);
        StringAssert.Contains(bounded.Details[^1], "85 more line(s) cut");
        Assert.AreEqual(bounded, EventBounds.Bound(bounded), "bounded where stored, bounded again where read: the same event");
        Assert.IsTrue(bounded.Details.All(d => d.Length <= EventBounds.MaxDetailChars));
    }
}
