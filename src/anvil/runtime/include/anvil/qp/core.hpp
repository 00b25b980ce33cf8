// anvil QP solver core: everything the backends share (kept as one include for compatibility).
#pragma once

#include "anvil/qp/common.hpp"
#include "anvil/qp/ipm.hpp"
#include "anvil/qp/preconditioner.hpp"
#include "anvil/qp/residuals.hpp"
#include "anvil/qp/settings.hpp"
#include "anvil/qp/tunables.hpp"
#include "anvil/qp/variables.hpp"
