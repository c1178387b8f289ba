using Hawser.Controller.Api;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store;

namespace Hawser.Controller.Tests;

/// <summary>What a scoped operator's apply may change, judged on resolved specs (the real parser and resolver).</summary>
[TestClass]
public sealed class OperatorScopeTests
{
    private static readonly OperatorRecord Sam = new()
    {
        Name = "sam", Role = OperatorRole.Operator, Selector = new Dictionary<string, string> { ["role"] = "web" }, CreatedAt = DateTimeOffset.UnixEpoch,
    };

    /// <summary>web1 (role=web) and db1 (role=db) share certificate "shared" when <paramref name="sharedOnDb"/>; web1 alone has "own".</summary>
    private static ResolvedSpec Spec(string sharedDomain, string ownDomain, bool sharedOnDb = true) => DesiredStates.Resolve($$$"""
        apiVersion: hawser/v1
        acme: {directory: "https://acme.example/dir"}
        nodes:
          web1: {labels: {role: web}}
          db1: {labels: {role: db}}
        profiles:
          web:
            selector: {role: web}
            certificates:
              - {name: shared, domains: [{{{sharedDomain}}}], install: [{format: combined, path: /etc/hitch/shared.pem}]}
              - {name: own, domains: [{{{ownDomain}}}], install: [{format: combined, path: /etc/hitch/own.pem}]}
          db:
            selector: {role: {{{(sharedOnDb ? "db" : "none")}}}}
            certificates:
              - {name: shared, domains: [{{{sharedDomain}}}], install: [{format: combined, path: /etc/hitch/shared.pem}]}
        """, "spec.yaml").Spec ?? throw new AssertFailedException("the fixture spec is not valid");

    [TestMethod]
    public void A_certificate_of_its_own_nodes_may_change_one_also_on_a_node_outside_the_scope_may_not()
    {
        var current = Spec("shared.example.org", "own.example.org");

        Assert.IsNull(OperatorScope.CheckApply(Sam, current, Spec("shared.example.org", "own2.example.org")), "own is web1's alone");
        StringAssert.Contains(OperatorScope.CheckApply(Sam, current, Spec("shared2.example.org", "own.example.org")), "this apply changes node db1 outside it");
        Assert.IsNull(OperatorScope.CheckApply(Sam, current, current), "no change, nothing refused");
    }
}
