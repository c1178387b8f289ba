using Hawser.Agent.Kinds;
using Hawser.Shared.Spec;

namespace Hawser.Agent.Tests;

/// <summary>The two halves of every kind are listed alike: a spec block no agent kind builds would be accepted and silently ignored.</summary>
[TestClass]
public sealed class ResourceKindTableTests
{
    [TestMethod]
    public void Every_spec_kind_has_its_agent_half_in_the_same_order()
    {
        CollectionAssert.AreEqual(SpecKinds.All.Select(k => k.Key).ToArray(), ResourceKinds.All.Select(k => k.Spec.Key).ToArray());
    }
}
