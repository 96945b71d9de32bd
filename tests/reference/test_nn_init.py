"""reference.nn and reference.init: layer shapes, parameter order, modes, saving, initialisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gradient_asserts import assert_gradients_pass

from grader.grading import tolerances
from reference import Tensor, init, nn
from reference.gradcheck import check_gradients, numeric_gradient, relative_error

RTOL, ATOL = tolerances.FORWARD_RTOL, tolerances.FORWARD_ATOL


def rng(seed=0):
    return np.random.default_rng(seed)


# ----- Linear ------------------------------------------------------------------------------


def test_linear_weight_has_shape_out_by_in():
    assert nn.Linear(5, 3, rng=rng()).weight.shape == (3, 5)


def test_linear_bias_has_shape_out_and_starts_at_zero():
    layer = nn.Linear(5, 3, rng=rng())
    assert layer.bias.shape == (3,)
    np.testing.assert_array_equal(layer.bias.data, np.zeros(3))


def test_linear_forward_is_x_times_w_transpose_plus_b():
    layer = nn.Linear(5, 3, rng=rng(1))
    layer.bias.data = np.array([0.1, -0.2, 0.3])
    x = rng(2).standard_normal((4, 5))
    expected = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(Tensor(x)).data, expected, rtol=RTOL, atol=ATOL)


def test_linear_forward_on_one_example_is_w_x_plus_b():
    layer = nn.Linear(5, 3, rng=rng(1))
    x = rng(2).standard_normal(5)
    np.testing.assert_allclose(layer(Tensor(x)).data, layer.weight.data @ x + layer.bias.data, rtol=RTOL, atol=ATOL)


def test_linear_gradients_have_parameter_shapes():
    layer = nn.Linear(5, 3, rng=rng(3))
    layer(Tensor(rng(4).standard_normal((4, 5)))).sum().backward()
    assert layer.weight.grad.shape == (3, 5)
    assert layer.bias.grad.shape == (3,)


def test_linear_gradients_match_numeric_gradient():
    generator = rng(5)
    weight, bias, x = generator.standard_normal((3, 5)), generator.standard_normal(3), generator.standard_normal((4, 5))
    assert_gradients_pass(
        check_gradients(lambda w, b, x: x @ w.T + b, [weight, bias, x], rng=generator, names=["weight", "bias", "x"])
    )


def test_linear_layer_backward_matches_numeric_gradient_through_the_module():
    layer = nn.Linear(5, 3, rng=rng(6))
    x = rng(7).standard_normal((4, 5))
    upstream = rng(8).standard_normal((4, 3))
    layer(Tensor(x)).backward(upstream)
    np.testing.assert_allclose(layer.weight.grad, upstream.T @ x, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(layer.bias.grad, upstream.sum(axis=0), rtol=RTOL, atol=ATOL)


def test_linear_rejects_unknown_init_name():
    with pytest.raises(ValueError, match="unknown init"):
        nn.Linear(2, 3, init="gaussian")


def test_linear_rejects_init_returning_wrong_shape():
    with pytest.raises(ValueError, match=r"\(out, in\)"):
        nn.Linear(2, 3, init=lambda fan_in, fan_out, rng: np.zeros((fan_in, fan_out)))


def test_linear_uniform_init_lies_in_minus_to_plus_tenth():
    weight = nn.Linear(200, 100, init="uniform", rng=rng(9)).weight.data
    assert np.all(np.abs(weight) <= 0.1)


# ----- parameters, modes, state -----------------------------------------------------------


def test_parameters_are_the_same_list_every_time():
    model = nn.MLP([4, 8, 3], rng=rng(10))
    first, second = model.parameters(), model.parameters()
    assert [id(p) for p in first] == [id(p) for p in second]


def test_mlp_parameters_are_layer_by_layer_weight_then_bias():
    model = nn.MLP([4, 8, 6, 3], rng=rng(11))
    linears = [layer for layer in model.layers if isinstance(layer, nn.Linear)]
    expected = [p for layer in linears for p in (layer.weight, layer.bias)]
    assert [id(p) for p in model.parameters()] == [id(p) for p in expected]


def test_parameters_lists_a_shared_tensor_once():
    model = nn.Sequential(nn.Linear(3, 3, rng=rng(12)))
    model.layers.append(model.layers[0])
    assert len(model.parameters()) == 2


def test_eval_propagates_to_every_sub_module():
    model = nn.MLP([4, 8, 8, 3], dropout=0.5, rng=rng(13))
    model.eval()
    assert all(module.training is False for module in model.modules())


def test_train_propagates_to_every_sub_module():
    model = nn.MLP([4, 8, 8, 3], dropout=0.5, rng=rng(14))
    model.eval()
    model.train()
    assert all(module.training is True for module in model.modules())


def test_dropout_module_is_identity_in_eval_mode():
    layer = nn.Dropout(0.5, rng=rng(15)).eval()
    x = np.arange(1.0, 13.0).reshape(3, 4)
    np.testing.assert_array_equal(layer(Tensor(x)).data, x)


def test_dropout_module_drops_in_training_mode():
    layer = nn.Dropout(0.5, rng=rng(16))
    assert np.any(layer(Tensor(np.ones((10, 10)))).data == 0.0)


def test_dropout_module_rejects_bad_p():
    with pytest.raises(ValueError, match="probability"):
        nn.Dropout(1.5)


def test_zero_grad_clears_every_parameter_gradient():
    model = nn.MLP([4, 8, 3], rng=rng(17))
    model(Tensor(rng(18).standard_normal((2, 4)))).sum().backward()
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_round_trip_restores_parameters():
    model = nn.MLP([4, 8, 3], rng=rng(19))
    saved = model.state_dict()
    other = nn.MLP([4, 8, 3], rng=rng(20))
    other.load_state_dict(saved)
    for p, value in zip(other.parameters(), saved):
        np.testing.assert_array_equal(p.data, value)


def test_state_dict_holds_copies_not_the_live_parameters():
    model = nn.MLP([4, 8, 3], rng=rng(21))
    saved = model.state_dict()
    model.parameters()[0].data[0, 0] += 1.0
    assert saved[0][0, 0] != model.parameters()[0].data[0, 0]


def test_load_state_dict_copies_the_arrays_it_is_given():
    model = nn.Linear(2, 2, rng=rng(22))
    state = [np.ones((2, 2)), np.zeros(2)]
    model.load_state_dict(state)
    state[0][0, 0] = 100.0
    assert model.weight.data[0, 0] == 1.0


def test_load_state_dict_rejects_wrong_shape_naming_both_shapes():
    model = nn.Linear(2, 3, rng=rng(23))
    with pytest.raises(ValueError) as error:
        model.load_state_dict([np.zeros((2, 3)), np.zeros(3)])
    assert "(2, 3)" in str(error.value) and "(3, 2)" in str(error.value)


def test_load_state_dict_rejects_wrong_number_of_arrays():
    with pytest.raises(ValueError, match="2 parameters"):
        nn.Linear(2, 3, rng=rng(24)).load_state_dict([np.zeros((3, 2))])


def test_failed_load_state_dict_leaves_module_unchanged():
    model = nn.MLP([2, 3, 1], rng=rng(25))
    before = model.state_dict()
    bad = [np.ones((3, 2)), np.ones(3), np.ones((3, 1)), np.ones(1)]  # third array transposed
    with pytest.raises(ValueError):
        model.load_state_dict(bad)
    for p, value in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, value)


# ----- MLP structure ------------------------------------------------------------------------


def test_mlp_is_linear_activation_linear_without_final_activation():
    model = nn.MLP([4, 8, 3], activation="tanh", rng=rng(26))
    assert [type(layer) for layer in model.layers] == [nn.Linear, nn.Tanh, nn.Linear]


def test_mlp_with_dropout_puts_dropout_after_each_hidden_activation():
    model = nn.MLP([4, 8, 8, 3], dropout=0.2, rng=rng(27))
    kinds = [type(layer) for layer in model.layers]
    assert kinds == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]


def test_mlp_factory_draws_a_new_mlp_from_the_generator_it_is_given():
    make_model = nn.mlp_factory([4, 8, 3], activation="tanh", dropout=0.2)
    first, again, other = make_model(rng(30)), make_model(rng(30)), make_model(rng(31))
    assert [type(layer) for layer in first.layers] == [nn.Linear, nn.Tanh, nn.Dropout, nn.Linear]
    assert first is not again
    for a, b in zip(first.state_dict(), again.state_dict()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.state_dict()[0], other.state_dict()[0])


def test_mlp_layer_shapes_follow_sizes():
    model = nn.MLP([4, 8, 3], rng=rng(28))
    assert [p.shape for p in model.parameters()] == [(8, 4), (8,), (3, 8), (3,)]


def test_mlp_output_has_batch_by_classes_shape():
    model = nn.MLP([4, 8, 3], rng=rng(29))
    assert model(Tensor(np.ones((5, 4)))).shape == (5, 3)


def test_mlp_parameter_gradients_match_numeric_gradient():
    model = nn.MLP([3, 4, 2], activation="tanh", rng=rng(30))
    x, upstream = rng(31).standard_normal((5, 3)), rng(32).standard_normal((5, 2))
    model(Tensor(x)).backward(upstream)
    for p in model.parameters():

        def scalar(value, p=p):
            original, p.data = p.data, value
            try:
                return float(np.sum(model(Tensor(x)).data * upstream))
            finally:
                p.data = original

        errors = relative_error(p.grad, numeric_gradient(scalar, p.data))
        assert errors.max() <= tolerances.GRADCHECK_SMOOTH, f"parameter of shape {p.shape}: {errors.max():.2e}"


def test_mlp_rejects_unknown_activation():
    with pytest.raises(ValueError, match="unknown activation"):
        nn.MLP([2, 2], activation="swish")


def test_mlp_rejects_fewer_than_two_sizes():
    with pytest.raises(ValueError, match="at least"):
        nn.MLP([4])


def test_same_seed_gives_same_mlp_weights():
    first = nn.MLP([4, 8, 3], rng=rng(33)).state_dict()
    second = nn.MLP([4, 8, 3], rng=rng(33)).state_dict()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_different_seeds_give_different_weights():
    first = nn.Linear(4, 8, rng=rng(34)).weight.data
    second = nn.Linear(4, 8, rng=rng(35)).weight.data
    assert not np.array_equal(first, second)


# ----- init ------------------------------------------------------------------------------------


def test_seeded_is_numpys_default_generator_of_that_seed():
    np.testing.assert_array_equal(init.seeded(5).random(4), np.random.default_rng(5).random(4))


def test_uniform_default_range_is_minus_to_plus_tenth():
    w = init.uniform((300, 300), rng=rng(36))
    assert np.all((w >= -0.1) & (w <= 0.1))
    assert w.max() > 0.099 and w.min() < -0.099  # 90,000 draws fill the range


def test_uniform_respects_given_bound():
    w = init.uniform((100, 100), a=0.5, rng=rng(37))
    assert np.all(np.abs(w) <= 0.5) and np.abs(w).max() > 0.49


def test_uniform_has_requested_shape():
    assert init.uniform((2, 3, 4), rng=rng(38)).shape == (2, 3, 4)


def test_uniform_rejects_negative_bound():
    with pytest.raises(ValueError, match="a ≥ 0"):
        init.uniform(3, a=-1.0)


def test_xavier_bound_is_sqrt_six_over_fan_in_plus_fan_out():
    assert init.xavier_bound(30, 20) == math.sqrt(6.0 / 50)


def test_xavier_uniform_has_shape_fan_out_by_fan_in():
    assert init.xavier_uniform(30, 20, rng=rng(39)).shape == (20, 30)


def test_xavier_uniform_fills_its_range():
    bound = math.sqrt(6.0 / (400 + 300))
    w = init.xavier_uniform(400, 300, rng=rng(40))
    assert np.all(np.abs(w) <= bound)
    assert w.max() > 0.99 * bound and w.min() < -0.99 * bound


def test_xavier_uniform_rejects_non_positive_fans():
    with pytest.raises(ValueError, match="positive"):
        init.xavier_uniform(0, 3)


def test_same_seed_gives_same_xavier_weights():
    np.testing.assert_array_equal(init.xavier_uniform(5, 4, rng=rng(41)), init.xavier_uniform(5, 4, rng=rng(41)))


@pytest.mark.parametrize("bad_rng", [42, np.random.RandomState(0)], ids=["int seed", "legacy RandomState"])
def test_non_generator_rng_is_rejected_with_type_error(bad_rng):
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        init.uniform(3, rng=bad_rng)


def test_linear_rejects_non_generator_rng():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        nn.Linear(2, 3, rng=0)
